package control

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/changeproof/changeproof/model"
)

// Approvals is what a pull request's review history says about approval,
// following docs/controls.md, "Qualifying approval". CM-2 and CM-3 both read it,
// so that the two controls can never disagree about which approvals count.
type Approvals struct {
	// Reviews has one verdict per review id, at its latest state, in the
	// order the reviews were submitted: every review, with why it did or did
	// not count. It is the Evidence.Reviews of CM-2 and CM-3.
	Reviews []model.ReviewVerdict
	// Qualifying are the verdicts that counted, in submission order.
	Qualifying []model.ReviewVerdict
	// Approvers are the people with a qualifying approval, one login per
	// person (the first they approved with), sorted. Its length is the
	// number of qualifying approvals: one person approving twice, or from
	// two logins, is still one approval.
	Approvers []string
	// Retro are approvals that fail only test 4: submitted after merged_at.
	// CM-2's emergency path accepts them as retro reviews.
	Retro []model.ReviewVerdict
	// Uncounted gives, for each reviewer without a qualifying approval, the
	// Why of their most telling review (their latest approval, else their
	// latest changes request, else their latest review), in the order they
	// first reviewed. A reason built from it names each reviewer once.
	Uncounted []string
	// SelfApprovers are the sorted logins that approved on the author's
	// behalf (the author's own login or one of the author's other logins).
	SelfApprovers []string
	// OnlySelfApproved is set when there is at least one approval and every
	// approval is a self-approval.
	OnlySelfApproved bool
}

// AnalyzeApprovals judges every review of the pull request c.
//
// c.Reviews holds every review event (submitted, edited, dismissed), oldest
// first by SubmittedAt; events with the same ReviewID are one review's
// history. "Later" means later in that order. c.OccurredAt must be the
// merge time: approvals after it are retro reviews.
//
// An approval counts when it is not the author's (after identity mapping),
// not a bot's, not dismissed, not followed by a changes request from the
// same person, not a contributor's (c.Contributors, after identity
// mapping, when policy.exclude_contributors) and submitted at or before
// the merge. A contributor's approval after the merge is no retro review
// either: it is still self-review of the code. Only a later
// changes_requested supersedes an approval: a later comment is not a change
// of mind, and a later approval only confirms it. A changes request that
// was itself dismissed still supersedes the earlier approval, because the
// reviewer withdrew their approval whatever happened to the objection.
//
// With a memo (Env.WithMemo) the analysis of a change is made once and
// shared: callers must not modify what it returns.
func AnalyzeApprovals(env Env, c model.Change) Approvals {
	if env.memo == nil {
		return analyzeApprovals(env, c)
	}
	k := approvalsKey{subject: c.Subject, author: c.Author, at: c.OccurredAt, n: len(c.Reviews), nc: len(c.Contributors)}
	if len(c.Reviews) > 0 {
		k.reviews = &c.Reviews[0]
	}
	if len(c.Contributors) > 0 {
		k.contributors = &c.Contributors[0]
	}
	if a, ok := env.memo.approvals[k]; ok {
		return a
	}
	a := analyzeApprovals(env, c)
	env.memo.approvals[k] = a
	return a
}

// approvalsKey is what AnalyzeApprovals reads of a change: the same review
// history (the same slice) of the same change.
type approvalsKey struct {
	subject, author string
	at              time.Time
	reviews         *model.Review
	n               int
	contributors    *model.Contributor
	nc              int
}

func analyzeApprovals(env Env, c model.Change) Approvals {
	reviews := collectReviews(c.Reviews)
	ids := env.Identities
	var a Approvals
	approvals, self := 0, 0
	for i, r := range reviews {
		v := model.ReviewVerdict{
			ReviewID:    r.id,
			Reviewer:    r.reviewer,
			State:       r.state,
			CommitID:    r.commit,
			SubmittedAt: r.at,
		}
		switch r.state {
		case "approved":
			approvals++
			switch {
			case c.Author != "" && ids.SamePerson(r.reviewer, c.Author):
				self++
				a.SelfApprovers = appendLogin(a.SelfApprovers, r.reviewer)
				v.Why = "self-approval by " + r.reviewer
				if !strings.EqualFold(r.reviewer, c.Author) {
					v.Why += " (" + c.Author + ")"
				}
			case IsBot(env.Policy, r.reviewer):
				v.Why = fmt.Sprintf("approval by %s is a bot's", r.reviewer)
			case r.dismissed:
				v.Why = fmt.Sprintf("approval by %s was dismissed", r.reviewer)
			case supersededAt(ids, reviews, i):
				v.Why = fmt.Sprintf("approval by %s superseded by changes requested", r.reviewer)
			case env.Policy.ExcludeContributors && contributorOf(ids, c.Contributors, r.reviewer) != nil:
				v.Why = fmt.Sprintf("approval by %s did not count: %s", r.reviewer,
					DescribeContribution(*contributorOf(ids, c.Contributors, r.reviewer)))
			case r.at.After(c.OccurredAt):
				v.Why = fmt.Sprintf("approval by %s after merge (retro review)", r.reviewer)
				a.Retro = append(a.Retro, v)
			default:
				v.Counted = true
				v.Why = "counted"
				a.Qualifying = append(a.Qualifying, v)
			}
		case "changes_requested":
			v.Why = "changes requested by " + r.reviewer
			if r.dismissed {
				v.Why += " (dismissed)"
			}
		case "commented":
			v.Why = "comment only by " + r.reviewer
		case "dismissed":
			// Only the dismissal was seen, so what was dismissed is unknown.
			v.Why = fmt.Sprintf("review by %s was dismissed", r.reviewer)
		default:
			v.Why = fmt.Sprintf("%s review by %s", r.state, r.reviewer)
		}
		a.Reviews = append(a.Reviews, v)
	}
	a.OnlySelfApproved = approvals > 0 && self == approvals
	slices.SortFunc(a.SelfApprovers, compareLogins)

	approved := map[string]bool{} // by person
	for _, v := range a.Qualifying {
		p := ids.Person(v.Reviewer)
		if !approved[p] {
			approved[p] = true
			a.Approvers = append(a.Approvers, v.Reviewer)
		}
	}
	slices.SortFunc(a.Approvers, compareLogins)
	a.Uncounted = uncounted(ids, a.Reviews, approved)
	return a
}

// contributorOf returns the contributor who is the same person as login,
// or nil.
func contributorOf(ids model.Identities, cs []model.Contributor, login string) *model.Contributor {
	for i := range cs {
		if ids.SamePerson(cs[i].Login, login) {
			return &cs[i]
		}
	}
	return nil
}

// DescribeContribution says what a contributor did, naming the commit as
// the reasons do: "bob pushed 9f8e7d6c… to the pull request".
func DescribeContribution(c model.Contributor) string {
	switch c.How {
	case model.ContribAuthored:
		return fmt.Sprintf("%s authored %s on the pull request", c.Login, ShortSHA(c.SHA))
	case model.ContribCommitted:
		return fmt.Sprintf("%s committed %s on the pull request", c.Login, ShortSHA(c.SHA))
	}
	return fmt.Sprintf("%s pushed %s to the pull request", c.Login, ShortSHA(c.SHA))
}

// ShortSHA abbreviates a commit SHA to its first 8 characters and an
// ellipsis, as reasons name commits ("9f8e7d6c…").
func ShortSHA(sha string) string {
	if len(sha) <= 8 {
		return sha
	}
	return sha[:8] + "…"
}

// RequiredApprovals is policy.min_approvals as the controls apply it. Below
// one it is read as one: an "independent approval" control that is
// satisfied by no approval would not operate at all.
func RequiredApprovals(p Policy) int {
	return max(p.MinApprovals, 1)
}

// RequiredFor is the qualifying approvals a pull request by author needs:
// RequiredBotApprovals for a bot's while policy.bot_changes is
// require_approval, else RequiredApprovals. CM-2 and CM-3 both use it, so
// that CM-3 judges exactly the pull requests CM-2 passes on approvals.
func RequiredFor(p Policy, author string) int {
	if IsBot(p, author) && !strings.EqualFold(p.BotChanges, "exempt") {
		return RequiredBotApprovals(p)
	}
	return RequiredApprovals(p)
}

// RequiredBotApprovals is what a bot-authored pull request needs:
// policy.bot_min_approvals, or RequiredApprovals when it is 0.
func RequiredBotApprovals(p Policy) int {
	if p.BotMinApprovals > 0 {
		return p.BotMinApprovals
	}
	return RequiredApprovals(p)
}

// IsBot reports whether login is a bot: a GitHub App ("[bot]" suffix) or a
// login listed in policy.bots. Both compare case-insensitively, as GitHub
// logins do.
func IsBot(p Policy, login string) bool {
	if strings.HasSuffix(strings.ToLower(login), "[bot]") {
		return true
	}
	for _, b := range p.Bots {
		if strings.EqualFold(b, login) {
			return true
		}
	}
	return false
}

// review is one review id's history folded into its current state.
type review struct {
	id        int64
	reviewer  string
	state     string // as submitted, lower case; "dismissed" when only the dismissal was seen
	commit    string
	at        time.Time
	dismissed bool
}

// collectReviews folds review events into one review per id, in order of
// first appearance. The dismissal does not overwrite the submitted state,
// so a verdict can say "approval ... was dismissed" rather than just
// "dismissed". Events without an id cannot be matched to a history and are
// kept as reviews of their own.
func collectReviews(events []model.Review) []*review {
	var out []*review
	byID := map[int64]*review{}
	for _, e := range events {
		r := byID[e.ReviewID]
		if r == nil || e.ReviewID == 0 {
			r = &review{id: e.ReviewID}
			if e.ReviewID != 0 {
				byID[e.ReviewID] = r
			}
			out = append(out, r)
		}
		if r.reviewer == "" {
			r.reviewer = e.Reviewer
		}
		if r.commit == "" {
			r.commit = e.CommitID
		}
		if r.at.IsZero() {
			r.at = e.SubmittedAt
		}
		state := strings.ToLower(e.State)
		if strings.EqualFold(e.Action, "dismissed") || state == "dismissed" {
			r.dismissed = true
			if r.state == "" {
				r.state = "dismissed"
			}
			continue
		}
		if state != "" {
			r.state = state
		}
	}
	return out
}

// supersededAt reports whether the same person requested changes after
// review i.
func supersededAt(ids model.Identities, reviews []*review, i int) bool {
	for _, later := range reviews[i+1:] {
		if later.state == "changes_requested" && ids.SamePerson(later.reviewer, reviews[i].reviewer) {
			return true
		}
	}
	return false
}

// uncounted picks, per reviewer login whose person has no qualifying
// approval, the verdict that best explains why: an approval that did not
// count says more than a changes request, which says more than a bare
// dismissal or a comment. Among equals the latest wins.
func uncounted(ids model.Identities, verdicts []model.ReviewVerdict, approved map[string]bool) []string {
	var order []string
	best := map[string]model.ReviewVerdict{}
	rank := func(v model.ReviewVerdict) int {
		switch v.State {
		case "approved":
			return 3
		case "changes_requested":
			return 2
		case "dismissed":
			return 1
		}
		return 0
	}
	for _, v := range verdicts {
		if approved[ids.Person(v.Reviewer)] {
			continue
		}
		key := strings.ToLower(v.Reviewer)
		prev, seen := best[key]
		if !seen {
			order = append(order, key)
		}
		if !seen || rank(v) >= rank(prev) {
			best[key] = v
		}
	}
	out := make([]string, 0, len(order))
	for _, k := range order {
		out = append(out, best[k].Why)
	}
	return out
}

func appendLogin(logins []string, login string) []string {
	for _, l := range logins {
		if strings.EqualFold(l, login) {
			return logins
		}
	}
	return append(logins, login)
}

// compareLogins sorts logins case-insensitively, as GitHub treats them,
// with a byte-order tie-break so the order is total.
func compareLogins(a, b string) int {
	if c := cmp.Compare(strings.ToLower(a), strings.ToLower(b)); c != 0 {
		return c
	}
	return cmp.Compare(a, b)
}
