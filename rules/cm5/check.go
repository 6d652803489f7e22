package cm5

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/rules/control"
)

// reviewRules are the change controls whose verdicts a deploy inherits. They
// are named here rather than imported so that CM-5 depends only on the
// findings in env.Prior, never on how the other controls are built.
var reviewRules = []string{"CM-1", "CM-2", "CM-3", "CM-7"}

// listCap is how many changes a reason lists before "and N more"; the
// evidence always lists them all.
const listCap = 10

// Check judges every successful production deploy in ev against the
// verdicts of CM-1..CM-3 in env.Prior, in the order of ev.Deploys.
func (Control) Check(env control.Env, ev *model.RepoEvidence) []model.Finding {
	deploys := productionDeploys(env, ev.Deploys)
	if len(deploys) == 0 {
		return nil
	}
	ch := newChain(ev)
	prev := newPredecessors(ch, deploys)
	out := make([]model.Finding, 0, len(deploys))
	for i, d := range deploys {
		out = append(out, judge(env, ev, ch, prev, i, d))
	}
	return out
}

// productionDeploys keeps the successful deploys to a production
// environment. A deploy reported twice (same subject) is one deploy, so it
// is judged once, on its last report.
func productionDeploys(env control.Env, all []model.Deploy) []model.Deploy {
	var out []model.Deploy
	at := map[string]int{}
	for _, d := range all {
		if !strings.EqualFold(d.Status, model.DeploySuccess) || !production(env, d.Environment) {
			continue
		}
		if i, ok := at[d.Subject()]; ok {
			out[i] = d
			continue
		}
		at[d.Subject()] = len(out)
		out = append(out, d)
	}
	return out
}

func production(env control.Env, environment string) bool {
	for _, e := range env.ProductionEnvironments {
		if strings.EqualFold(e, environment) {
			return true
		}
	}
	return false
}

func judge(env control.Env, ev *model.RepoEvidence, ch *chain, preds *predecessors, i int, d model.Deploy) model.Finding {
	f := model.Finding{
		Rule:       ID,
		Subject:    d.Subject(),
		Repo:       ev.Repo,
		OccurredAt: d.OccurredAt(),
		Evidence:   model.Evidence{ChangeEvidence: model.ChangeEvidence{SHA: d.SHA, URL: d.URL}},
	}
	x := strings.ToLower(d.SHA)
	if x == "" {
		f.Outcome = model.Error
		f.Reason = fmt.Sprintf("deploy %s names no commit SHA", d.ID)
		return f
	}
	start := ch.tip(x, d)
	if start < 0 {
		f.Outcome = model.Fail
		f.Reason = fmt.Sprintf("deployed commit %s is not on the default branch of %s (unknown or unmerged code)", d.SHA, ev.Repo)
		return f
	}

	var pushes []int // newest first
	prev, ok := preds.previous(i)
	if !ok {
		// First recorded production deploy: what it shipped before tracking
		// began is unknowable, so only the change that produced X is its own.
		pushes = []int{start}
	} else {
		p := strings.ToLower(prev.SHA)
		var gap string
		pushes, gap = ch.walk(start, p)
		if gap != "" {
			if _, back := ch.walk(ch.tip(p, prev), x); back == "" {
				f.Outcome = model.Pass
				f.Reason = fmt.Sprintf("ships no new changes: rollback to %s, which precedes %s deployed by %s", d.SHA, prev.SHA, prev.Subject())
				return f
			}
			f.Outcome = model.Error
			f.Reason = fmt.Sprintf("chain from %s (deployed by %s) to %s is broken (evidence incomplete): %s",
				prev.SHA, prev.Subject(), d.SHA, gap)
			return f
		}
		if len(pushes) == 0 {
			f.Outcome = model.Pass
			f.Reason = fmt.Sprintf("ships no new changes: %s was already deployed by %s", d.SHA, prev.Subject())
			return f
		}
	}

	// Chain order is oldest first; one change may own several pushes (a
	// branch moved back and forth), and is shipped once.
	var shipped []string
	seen := map[string]bool{}
	for i := len(pushes) - 1; i >= 0; i-- {
		s := ch.subject(pushes[i])
		if !seen[s] {
			seen[s] = true
			shipped = append(shipped, s)
		}
	}
	f.Evidence.Shipped = shipped
	f.Outcome, f.Reason, f.Evidence.FailedChanges = verdict(env, shipped)
	return f
}

// judged is one shipped change and the review controls that gave it one
// outcome.
type judged struct {
	subject string
	rules   []string
}

func (j judged) String() string {
	return fmt.Sprintf("%s (%s)", j.subject, strings.Join(j.rules, ", "))
}

// verdict judges the shipped changes by their CM-1..CM-3 findings. A fail
// anywhere decides, since evidence of one unreviewed change is enough; then
// an unjudgeable change, which must not pass silently; then a pending one.
// It returns the subjects that failed too, for the evidence.
func verdict(env control.Env, shipped []string) (model.Outcome, string, []string) {
	var failed, pending, waived []judged
	var errs []string
	for _, s := range shipped {
		prior := env.Prior[s]
		if _, ok := prior[reviewRules[0]]; !ok {
			// Every change has a CM-1 verdict; without one the change was
			// not judged at all, and "not judged" must not read as "reviewed".
			errs = append(errs, fmt.Sprintf("%s (no %s finding)", s, reviewRules[0]))
		}
		fail, pend, waive := judged{subject: s}, judged{subject: s}, judged{subject: s}
		for _, rule := range reviewRules {
			g, ok := prior[rule]
			if !ok {
				continue // CM-2, CM-3 and CM-7 do not judge every change
			}
			switch g.Outcome {
			case model.Fail:
				fail.rules = append(fail.rules, rule)
			case model.Error:
				errs = append(errs, fmt.Sprintf("%s (%s error)", s, rule))
			case model.Pending:
				pend.rules = append(pend.rules, rule)
			case model.Waived:
				waive.rules = append(waive.rules, rule)
			}
		}
		if len(fail.rules) > 0 {
			failed = append(failed, fail)
		}
		if len(pend.rules) > 0 {
			pending = append(pending, pend)
		}
		if len(waive.rules) > 0 {
			waived = append(waived, waive)
		}
	}
	switch {
	case len(failed) > 0:
		subjects := make([]string, len(failed))
		for i, j := range failed {
			subjects[i] = j.subject
		}
		return model.Fail, fmt.Sprintf("ships %s that failed review: %s", count(len(failed)), list(failed)), subjects
	case len(errs) > 0:
		return model.Error, "cannot tell whether the shipped changes passed review: " + list(errs), nil
	case len(pending) == 1:
		p := pending[0]
		verb := "is"
		if len(p.rules) > 1 {
			verb = "are"
		}
		return model.Pending, fmt.Sprintf("ships %s whose %s %s pending", p.subject, strings.Join(p.rules, " and "), verb), nil
	case len(pending) > 1:
		return model.Pending, fmt.Sprintf("ships %d changes whose review is pending: %s", len(pending), list(pending)), nil
	}
	phrase := "all reviewed"
	if len(shipped) == 1 {
		phrase = "reviewed"
	}
	if len(waived) > 0 {
		phrase += " or waived"
	}
	r := fmt.Sprintf("ships %s, %s: %s", count(len(shipped)), phrase, list(shipped))
	if len(waived) > 0 {
		r += "; waived: " + list(waived)
	}
	return model.Pass, r, nil
}

func count(n int) string {
	if n == 1 {
		return "1 change"
	}
	return fmt.Sprintf("%d changes", n)
}

// list joins items for a one-line reason, naming at most listCap of them.
func list[T any](items []T) string {
	s := make([]string, 0, min(len(items), listCap))
	for _, it := range items[:min(len(items), listCap)] {
		s = append(s, fmt.Sprint(it))
	}
	if len(items) <= listCap {
		return strings.Join(s, ", ")
	}
	return fmt.Sprintf("%s, and %d more", strings.Join(s, ", "), len(items)-listCap)
}

// predecessors answers previous for every deploy of one Check: the
// candidates (deploys whose commit is on the default branch) grouped by
// service and sorted by time, so each answer is a search rather than a
// scan of every deploy. A service with two candidates of the same time,
// or a deploy at the time of another's candidate, is answered by the scan:
// then ids decide, and only the scan decides as it always has.
type predecessors struct {
	ch      *chain
	deploys []model.Deploy
	groups  map[string]*candidates
	service []string // each deploy's group
}

type candidates struct {
	idx  []int // by time
	tied bool  // two share a time
}

func newPredecessors(ch *chain, deploys []model.Deploy) *predecessors {
	p := &predecessors{ch: ch, deploys: deploys, groups: map[string]*candidates{}, service: make([]string, len(deploys))}
	for i, c := range deploys {
		p.service[i] = foldKey(c.Service)
		g := p.groups[p.service[i]]
		if g == nil {
			g = &candidates{}
			p.groups[p.service[i]] = g
		}
		if c.SHA != "" && ch.tip(strings.ToLower(c.SHA), c) >= 0 {
			g.idx = append(g.idx, i)
		}
	}
	for _, g := range p.groups {
		slices.SortFunc(g.idx, func(a, b int) int { return deploys[a].OccurredAt().Compare(deploys[b].OccurredAt()) })
		for k := 1; k < len(g.idx); k++ {
			if deploys[g.idx[k]].OccurredAt().Equal(deploys[g.idx[k-1]].OccurredAt()) {
				g.tied = true
			}
		}
	}
	return p
}

// previous is the service's latest successful production deploy before
// deploys[i], in (time, id) order, whose commit is on the default branch.
func (p *predecessors) previous(i int) (model.Deploy, bool) {
	d := p.deploys[i]
	g := p.groups[p.service[i]]
	at := d.OccurredAt()
	n, _ := slices.BinarySearchFunc(g.idx, at, func(c int, t time.Time) int { return p.deploys[c].OccurredAt().Compare(t) })
	if g.tied || n < len(g.idx) && g.idx[n] != i && p.deploys[g.idx[n]].OccurredAt().Equal(at) {
		return previous(p.ch, p.deploys, d)
	}
	// Without ties the latest candidate of an earlier time is the one:
	// deploys of one subject are one deploy (productionDeploys).
	if n == 0 {
		return model.Deploy{}, false
	}
	return p.deploys[g.idx[n-1]], true
}

// foldKey maps s to one representative of the strings strings.EqualFold
// takes for equal: each rune replaced by the least rune of its case
// folding orbit (invalid bytes decode to U+FFFD, as EqualFold reads them).
// For ASCII that is its upper case.
func foldKey(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return strings.ToUpper(s)
	}
	var b strings.Builder
	for _, r := range s {
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			least = min(least, f)
		}
		b.WriteRune(least)
	}
	return b.String()
}

// previous is the service's latest successful production deploy before d,
// in (time, id) order, whose commit is on the default branch. A deploy of
// unknown code is skipped: it bounds nothing on the chain, and its own
// finding already fails; the changes since the last deploy from the
// default branch are what d brings from the branch to production.
func previous(ch *chain, deploys []model.Deploy, d model.Deploy) (model.Deploy, bool) {
	var best model.Deploy
	found := false
	for _, c := range deploys {
		if !strings.EqualFold(c.Service, d.Service) || c.Subject() == d.Subject() || compareDeploys(c, d) >= 0 {
			continue
		}
		if c.SHA == "" || ch.tip(strings.ToLower(c.SHA), c) < 0 {
			continue
		}
		if !found || compareDeploys(c, best) > 0 {
			best, found = c, true
		}
	}
	return best, found
}

// compareDeploys orders deploys by event time, then id, so that two deploys
// in the same second still have a previous and a next.
func compareDeploys(a, b model.Deploy) int {
	if c := a.OccurredAt().Compare(b.OccurredAt()); c != 0 {
		return c
	}
	if c := compareIDs(a.ID, b.ID); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Source, b.Source); c != 0 {
		return c
	}
	return cmp.Compare(a.Environment, b.Environment)
}

// compareIDs compares numeric ids as numbers (CI run numbers: "9" < "10"),
// anything else as strings.
func compareIDs(a, b string) int {
	x, errA := strconv.ParseUint(a, 10, 64)
	y, errB := strconv.ParseUint(b, 10, 64)
	if errA == nil && errB == nil {
		return cmp.Compare(x, y)
	}
	return cmp.Compare(a, b)
}

// chain indexes the default-branch pushes of one repository by the commit
// each moved the branch to.
type chain struct {
	repo      string
	pushes    []model.Push
	byAfter   map[string][]int  // lower-case after SHA -> push indices, ascending
	changeSHA map[string]string // lower-case SHA -> subject of the change it is
}

func newChain(ev *model.RepoEvidence) *chain {
	ch := &chain{repo: ev.Repo, pushes: ev.Pushes, byAfter: map[string][]int{}, changeSHA: map[string]string{}}
	for i, p := range ev.Pushes {
		a := strings.ToLower(p.After)
		ch.byAfter[a] = append(ch.byAfter[a], i)
	}
	for sha, n := range ev.MergeCommits {
		ch.changeSHA[strings.ToLower(sha)] = fmt.Sprintf("%s#%d", ev.Repo, n)
	}
	// Derived changes win over the bare merge-commit index: their subjects
	// are the ones CM-1..CM-3 used. Pull requests win over direct pushes,
	// since a push that is a merge is never a direct push.
	for _, c := range ev.Changes {
		if c.Kind == model.KindDirectPush && c.SHA != "" {
			ch.changeSHA[strings.ToLower(c.SHA)] = control.ChangeSubject(c)
		}
	}
	for _, c := range ev.Changes {
		if c.Kind == model.KindPullRequest && c.MergeCommitSHA != "" {
			ch.changeSHA[strings.ToLower(c.MergeCommitSHA)] = control.ChangeSubject(c)
		}
	}
	return ch
}

// subject is the change push i belongs to: the pull request it merged, else
// the direct push OWNER/REPO@<after>.
func (ch *chain) subject(i int) string {
	after := ch.pushes[i].After
	if s, ok := ch.changeSHA[strings.ToLower(after)]; ok {
		return s
	}
	return ch.repo + "@" + after
}

// tip is the push that moved the branch to sha for deploy d: the latest one
// not after the deploy, else the latest (clocks disagree); -1 when no push
// moved the branch to sha.
func (ch *chain) tip(sha string, d model.Deploy) int {
	idx := ch.byAfter[sha]
	for k := len(idx) - 1; k >= 0; k-- {
		if !ch.pushes[idx[k]].PushedAt.After(d.OccurredAt()) {
			return idx[k]
		}
	}
	if len(idx) == 0 {
		return -1
	}
	return idx[len(idx)-1]
}

// walk follows before links back from push start until the branch was at
// stop, returning the pushes passed (newest first, the push to stop
// excluded). gap is empty when stop was reached, else says where the chain
// ends. Each push is visited once, so a branch that moved back and forth
// cannot loop.
func (ch *chain) walk(start int, stop string) (pushes []int, gap string) {
	if start < 0 {
		return nil, "no recorded push"
	}
	visited := map[int]bool{}
	i := start
	if strings.ToLower(ch.pushes[i].After) == stop {
		return nil, ""
	}
	for {
		visited[i] = true
		pushes = append(pushes, i)
		b := strings.ToLower(ch.pushes[i].Before)
		if b == stop {
			return pushes, ""
		}
		j := ch.pred(i, b, visited)
		if j < 0 {
			if b == "" || strings.Trim(b, "0") == "" {
				return pushes, fmt.Sprintf("the recorded chain begins at %s", ch.pushes[i].After)
			}
			return pushes, fmt.Sprintf("no recorded push moved the default branch to %s", ch.pushes[i].Before)
		}
		i = j
	}
}

// pred is the push that moved the branch to b, the state push i started
// from: the latest such push recorded before i. Pushes in the same second
// may be recorded in either order, so a later-recorded push with i's time
// is accepted when no earlier one exists.
func (ch *chain) pred(i int, b string, visited map[int]bool) int {
	idx := ch.byAfter[b]
	for k := len(idx) - 1; k >= 0; k-- {
		if j := idx[k]; j < i && !visited[j] {
			return j
		}
	}
	for _, j := range idx {
		if j > i && !visited[j] && ch.pushes[j].PushedAt.Equal(ch.pushes[i].PushedAt) {
			return j
		}
	}
	return -1
}
