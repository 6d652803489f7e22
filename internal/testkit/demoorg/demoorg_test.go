package demoorg

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/changeproof/changeproof/internal/testkit/fixture"
	"github.com/changeproof/changeproof/model"
)

func TestDeterministic(t *testing.T) {
	o := Options{Seed: 42, Now: time.Date(2026, 5, 4, 15, 30, 0, 0, time.UTC), PRs: 120}
	a, b := Generate(o), Generate(o)
	if len(a.Deliveries) != len(b.Deliveries) {
		t.Fatalf("%d vs %d deliveries", len(a.Deliveries), len(b.Deliveries))
	}
	for i := range a.Deliveries {
		x, y := a.Deliveries[i], b.Deliveries[i]
		if x.Event != y.Event || x.ID != y.ID || !bytes.Equal(x.Body, y.Body) {
			t.Fatalf("delivery %d differs between runs", i)
		}
	}
	ea, _ := json.Marshal(a.Expect)
	eb, _ := json.Marshal(b.Expect)
	if !bytes.Equal(ea, eb) {
		t.Fatal("expectations differ between runs")
	}
	o.Seed = 43
	c := Generate(o)
	if len(c.Deliveries) == len(a.Deliveries) && bytes.Equal(c.Deliveries[len(c.Deliveries)-1].Body, a.Deliveries[len(a.Deliveries)-1].Body) {
		t.Fatal("a different seed gave the same history")
	}
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// payload is the part of each body the tests read.
type payload struct {
	Action      string `json:"action"`
	Number      int    `json:"number"`
	Zen         string `json:"zen"`
	Ref         string `json:"ref"`
	Before      string `json:"before"`
	After       string `json:"after"`
	Created     bool   `json:"created"`
	Deleted     bool   `json:"deleted"`
	PullRequest *struct {
		Number         int        `json:"number"`
		Title          string     `json:"title"`
		Body           string     `json:"body"`
		Merged         *bool      `json:"merged"`
		MergedAt       *time.Time `json:"merged_at"`
		CreatedAt      time.Time  `json:"created_at"`
		MergeCommitSHA string     `json:"merge_commit_sha"`
		User           struct{ Login string }
		Head           struct{ Ref, SHA string }
		Base           struct{ Ref string }
		Labels         []struct{ Name string }
	} `json:"pull_request"`
	Review *struct {
		ID          int64
		State       string
		CommitID    string    `json:"commit_id"`
		SubmittedAt time.Time `json:"submitted_at"`
		User        struct{ Login string }
	} `json:"review"`
	Rule *struct {
		Name        string
		Enforcement string `json:"pull_request_reviews_enforcement_level"`
		Count       int    `json:"required_approving_review_count"`
		Dismiss     bool   `json:"dismiss_stale_reviews_on_push"`
		Admin       bool   `json:"admin_enforced"`
	} `json:"rule"`
	Commits []struct {
		ID        string
		Message   string
		Timestamp time.Time
	} `json:"commits"`
	CheckRun *struct {
		Name        string
		HeadSHA     string    `json:"head_sha"`
		Conclusion  string    `json:"conclusion"`
		CompletedAt time.Time `json:"completed_at"`
	} `json:"check_run"`
	Ruleset *struct {
		ID           int64
		Enforcement  string
		BypassActors []struct {
			ActorType string `json:"actor_type"`
		} `json:"bypass_actors"`
	} `json:"repository_ruleset"`
	Repository struct {
		FullName      string          `json:"full_name"`
		DefaultBranch string          `json:"default_branch"`
		PushedAt      json.RawMessage `json:"pushed_at"`
	} `json:"repository"`
	Sender struct{ Login string } `json:"sender"`
}

func decodeAll(t *testing.T, h History) []payload {
	t.Helper()
	out := make([]payload, len(h.Deliveries))
	ids := map[string]bool{}
	for i, d := range h.Deliveries {
		if !json.Valid(d.Body) {
			t.Fatalf("delivery %d (%s) is not valid JSON", i, d.Event)
		}
		if err := json.Unmarshal(d.Body, &out[i]); err != nil {
			t.Fatalf("delivery %d (%s): %v", i, d.Event, err)
		}
		if !uuidRE.MatchString(d.ID) || ids[d.ID] {
			t.Fatalf("delivery %d: bad or repeated id %q", i, d.ID)
		}
		ids[d.ID] = true
	}
	return out
}

func TestBodiesMatchEvents(t *testing.T) {
	h := Generate(Options{Seed: 7})
	ps := decodeAll(t, h)
	for i, d := range h.Deliveries {
		p := ps[i]
		var ok bool
		switch d.Event {
		case "pull_request":
			ok = p.PullRequest != nil && p.Review == nil && p.Number == p.PullRequest.Number &&
				slices.Contains([]string{"opened", "synchronize", "closed"}, p.Action)
		case "pull_request_review":
			ok = p.PullRequest != nil && p.Review != nil && (p.Action == "submitted" || p.Action == "dismissed")
		case "push":
			ok = p.Ref != "" && len(p.Before) == 40 && len(p.After) == 40 && p.PullRequest == nil
			// GitHub sends pushed_at as Unix seconds in push events.
			var n int64
			ok = ok && json.Unmarshal(p.Repository.PushedAt, &n) == nil && n > 0
		case "branch_protection_rule":
			ok = p.Rule != nil && slices.Contains([]string{"created", "edited", "deleted"}, p.Action)
		case "ping":
			ok = p.Zen != ""
		case "check_run":
			ok = p.CheckRun != nil && p.Action == "completed" && len(p.CheckRun.HeadSHA) == 40
		case "repository_ruleset":
			ok = p.Ruleset != nil && slices.Contains([]string{"created", "edited", "deleted"}, p.Action)
		}
		if !ok {
			t.Fatalf("delivery %d: X-GitHub-Event %q does not fit its body %.200s", i, d.Event, d.Body)
		}
		if p.Repository.FullName == "" || !slices.Contains(h.Repos, p.Repository.FullName) {
			t.Fatalf("delivery %d: repository %q", i, p.Repository.FullName)
		}
	}
}

func TestChain(t *testing.T) {
	for _, o := range []Options{{Seed: 1}, {Seed: 2, PRs: 25, Org: "globex"}} {
		h := Generate(o)
		ps := decodeAll(t, h)
		tip := map[string]string{} // repo + ref -> last after
		afters := map[string]bool{}
		n := 0
		for i, d := range h.Deliveries {
			if d.Event != "push" {
				continue
			}
			p := ps[i]
			key := p.Repository.FullName + " " + p.Ref
			if prev, ok := tip[key]; ok && p.Before != prev {
				t.Fatalf("%s: push %d has before %s, previous after was %s", key, i, p.Before, prev)
			}
			if p.Created != (p.Before == fixture.ZeroSHA) || p.Deleted != (p.After == fixture.ZeroSHA) {
				t.Fatalf("push %d: created/deleted flags do not match its SHAs", i)
			}
			if p.Ref == "refs/heads/"+p.Repository.DefaultBranch {
				n++
				if afters[p.After] {
					t.Fatalf("push %d: after %s seen twice", i, p.After)
				}
				afters[p.After] = true
				if len(p.Commits) == 0 || p.Commits[len(p.Commits)-1].ID != p.After {
					t.Fatalf("push %d: last commit is not after", i)
				}
			}
			tip[key] = p.After
		}
		if n < o.PRs {
			t.Fatalf("only %d default-branch pushes for %d PRs", n, o.PRs)
		}
	}
}

func TestOrdering(t *testing.T) {
	h := Generate(Options{Seed: 3})
	ps := decodeAll(t, h)
	now := h.Expect.Now
	index := map[string]int{} // "subject/event" -> delivery index
	var lastPush time.Time
	for i, d := range h.Deliveries {
		p := ps[i]
		switch d.Event {
		case "pull_request":
			index[fmt.Sprintf("%s#%d/%s", p.Repository.FullName, p.Number, p.Action)] = i
		case "pull_request_review":
			if p.Review.SubmittedAt.After(now) {
				t.Fatalf("review %d submitted after Now", i)
			}
			index[fmt.Sprintf("%s#%d/review/%d", p.Repository.FullName, p.PullRequest.Number, p.Review.ID)] = i
		case "push":
			var sec int64
			_ = json.Unmarshal(p.Repository.PushedAt, &sec)
			at := time.Unix(sec, 0)
			if at.Before(lastPush) || at.After(now) {
				t.Fatalf("push %d at %v is out of order (previous %v, now %v)", i, at, lastPush, now)
			}
			lastPush = at
			if len(p.Commits) > 0 {
				index[p.Repository.FullName+"@"+p.After] = i
			}
		}
	}
	pbp := h.Expect.Categories[CatPushBeforePR]
	wdp := h.Expect.Categories[CatWithdrawnDirectPush]
	if len(pbp) != 1 || len(wdp) != 1 {
		t.Fatalf("push-before-PR categories: %v %v", pbp, wdp)
	}
	if !(index[wdp[0]] < index[pbp[0]+"/closed"]) {
		t.Errorf("merge push of %s is not delivered before its closed event", pbp[0])
	}
	late := h.Expect.Categories[CatReviewDeliveredLate]
	if len(late) != 1 {
		t.Fatalf("late review: %v", late)
	}
	found := false
	for k, i := range index {
		if strings.HasPrefix(k, late[0]+"/review/") {
			p := ps[i]
			found = true
			mergedAt := *ps[index[late[0]+"/closed"]].PullRequest.MergedAt
			if i < index[late[0]+"/closed"] || !p.Review.SubmittedAt.Before(mergedAt) {
				t.Errorf("review of %s is not a pre-merge review delivered after the merge", late[0])
			}
		}
	}
	if !found {
		t.Errorf("no review found for %s", late[0])
	}
}

func TestMix(t *testing.T) {
	h := Generate(Options{Seed: 5})
	c := h.Expect.Categories
	for _, cat := range []string{
		CatApproved, CatBotAuthored, CatBotAuthoredUnreviewed, CatSelfApproved, CatSelfApprovedAlt,
		CatBotApproved, CatStaleApproval, CatApprovalDismissed, CatChangesRequested, CatNoReview,
		CatCommentedOnly, CatApprovedAfterMerge, CatEmergencyRetro, CatEmergencyOverdue, CatEmergencyPending,
		CatDirectPush, CatClosedUnmerged, CatNotAChange, CatOutOfScope, CatProtectionOK, CatProtectionWeakened,
		CatProtectionDeleted, CatPushBeforePR, CatWithdrawnDirectPush, CatReviewDeliveredLate,
		CatChangesRequestedThenApproved, CatApprovedThenCommented, CatTicketLinked, CatTicketMissing,
		CatRulesetBypass, CatCoAuthoredApproval, CatBotTooFewApprovals, CatCheckFailed,
	} {
		if len(c[cat]) == 0 {
			t.Errorf("category %s is empty", cat)
		}
	}
	if n := len(c[CatEmergencyPending]); n != 1 {
		t.Errorf("%d pending emergencies, want 1", n)
	}
	merged := len(h.Expect.Outcomes["CM-2"])
	good := len(c[CatApproved]) + len(c[CatBotAuthored])
	if f := float64(good) / float64(merged); f < 0.65 || f > 0.85 {
		t.Errorf("%.2f of in-scope PRs properly approved, want ~0.75", f)
	}
	if len(h.Expect.InScope) != 4 || len(h.Expect.OutOfScope) != 1 || len(h.Repos) != 5 {
		t.Errorf("repos: %v / %v", h.Expect.InScope, h.Expect.OutOfScope)
	}
	// Small histories still work and keep the rare categories.
	s := Generate(Options{Seed: 5, PRs: 40})
	for _, cat := range []string{CatEmergencyPending, CatStaleApproval, CatSelfApprovedAlt, CatApproved} {
		if len(s.Expect.Categories[cat]) == 0 {
			t.Errorf("PRs=40: category %s is empty", cat)
		}
	}
}

// BenchmarkGenerate measures the demo history's generation (300 PRs).
func BenchmarkGenerate(b *testing.B) {
	for i := 0; b.Loop(); i++ {
		Generate(Options{Seed: int64(i)})
	}
}

// TestExpectationsMatchPayloads re-derives every expected outcome from the
// payloads alone with a small, independent reading of docs/controls.md (default
// policy, alice-alt = alice). It keeps the generator honest: a category
// whose payloads do not show what the category claims fails here, not in
// someone's end-to-end test.
func TestExpectationsMatchPayloads(t *testing.T) {
	for _, o := range []Options{{Seed: 11}, {Seed: 12, PRs: 60, Now: time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)}} {
		h := Generate(o)
		got := oracle(t, h, decodeAll(t, h))
		for _, rule := range []string{"CM-1", "CM-2", "CM-3", "CM-4", "CM-6", "CM-7"} {
			want := maps.Clone(h.Expect.Outcomes[rule])
			if rule == "CM-1" {
				// The withdrawn provisional subject only exists for an
				// order-dependent reader; the oracle reads everything first.
				for _, s := range h.Expect.Categories[CatWithdrawnDirectPush] {
					if want[s] != model.NotApplicable {
						t.Errorf("CM-1 %s: want not_applicable, have %q", s, want[s])
					}
					delete(want, s)
				}
			}
			for s, w := range want {
				if got[rule][s] != w {
					t.Errorf("%s %s: generator expects %s, payloads say %q", rule, s, w, got[rule][s])
				}
			}
			for s, g := range got[rule] {
				if _, ok := want[s]; !ok {
					t.Errorf("%s %s: payloads give %s, generator expects nothing", rule, s, g)
				}
			}
		}
	}
}

type rv struct {
	id        int64
	login     string
	state     string
	commit    string
	at        time.Time
	dismissed bool
}

func oracle(t *testing.T, h History, ps []payload) map[string]map[string]model.Outcome {
	out := map[string]map[string]model.Outcome{"CM-1": {}, "CM-2": {}, "CM-3": {}, "CM-4": {}, "CM-6": {}, "CM-7": {}}
	// contributors: who else pushed a head (synchronize senders), by PR;
	// checks: the required check's results, by repository and commit.
	contributors := map[string][]string{}
	type result struct {
		conclusion string
		at         time.Time
	}
	checks := map[string][]result{}
	inScope := func(r string) bool { return slices.Contains(h.Expect.InScope, r) }
	ticket := regexp.MustCompile(`[A-Z][A-Z0-9]+-[0-9]+`)
	bot := func(l string) bool { return strings.HasSuffix(l, "[bot]") }
	closed := map[string]payload{}
	reviews := map[string]map[int64]*rv{}
	mergeSHAs := map[string]bool{}
	var pushes []payload
	for i, d := range h.Deliveries {
		p := ps[i]
		switch d.Event {
		case "check_run":
			if p.CheckRun.Name == h.Expect.RequiredChecks[0] {
				k := p.Repository.FullName + "@" + p.CheckRun.HeadSHA
				checks[k] = append(checks[k], result{p.CheckRun.Conclusion, p.CheckRun.CompletedAt})
			}
		case "repository_ruleset":
			if !inScope(p.Repository.FullName) {
				continue
			}
			s := fmt.Sprintf("%s:ruleset/%d@%s", p.Repository.FullName, p.Ruleset.ID, d.ID)
			o := model.Pass
			if p.Action == "deleted" || p.Ruleset.Enforcement != "active" || len(p.Ruleset.BypassActors) > 0 {
				o = model.Fail
			}
			out["CM-6"][s] = o
		case "pull_request":
			if p.Action == "synchronize" && p.Sender.Login != p.PullRequest.User.Login {
				s := fmt.Sprintf("%s#%d", p.Repository.FullName, p.Number)
				contributors[s] = append(contributors[s], person(p.Sender.Login))
			}
			if p.Action == "closed" && *p.PullRequest.Merged {
				s := fmt.Sprintf("%s#%d", p.Repository.FullName, p.Number)
				closed[s] = p
				mergeSHAs[p.Repository.FullName+"@"+p.PullRequest.MergeCommitSHA] = true
			}
		case "pull_request_review":
			s := fmt.Sprintf("%s#%d", p.Repository.FullName, p.PullRequest.Number)
			if reviews[s] == nil {
				reviews[s] = map[int64]*rv{}
			}
			if p.Action == "dismissed" {
				if r := reviews[s][p.Review.ID]; r != nil {
					r.dismissed = true
				} else {
					reviews[s][p.Review.ID] = &rv{id: p.Review.ID, dismissed: true}
				}
				continue
			}
			r := reviews[s][p.Review.ID]
			dismissed := r != nil && r.dismissed
			reviews[s][p.Review.ID] = &rv{p.Review.ID, p.Review.User.Login, strings.ToLower(p.Review.State), p.Review.CommitID, p.Review.SubmittedAt, dismissed}
		case "push":
			pushes = append(pushes, p)
		case "branch_protection_rule":
			if !inScope(p.Repository.FullName) {
				continue
			}
			s := p.Repository.FullName + ":protection@" + d.ID
			r := p.Rule
			o := model.Pass
			if p.Action == "deleted" || r.Enforcement == "off" || r.Count < 1 || !r.Dismiss || !r.Admin {
				o = model.Fail
			}
			out["CM-6"][s] = o
		}
	}
	for _, p := range pushes {
		s := p.Repository.FullName + "@" + p.After
		if !inScope(p.Repository.FullName) || p.Ref != "refs/heads/"+p.Repository.DefaultBranch || p.Created || p.Deleted || mergeSHAs[s] {
			continue
		}
		out["CM-1"][s] = model.Fail
		o := model.Fail
		for _, c := range p.Commits {
			if ticket.MatchString(c.Message) {
				o = model.Pass
			}
		}
		out["CM-4"][s] = o
	}
	for s, p := range closed {
		if !inScope(p.Repository.FullName) {
			continue
		}
		pr := p.PullRequest
		out["CM-1"][s] = model.Pass
		if ticket.MatchString(pr.Title) || ticket.MatchString(pr.Head.Ref) || ticket.MatchString(pr.Body) {
			out["CM-4"][s] = model.Pass
		} else {
			out["CM-4"][s] = model.Fail
		}
		author := person(pr.User.Login)
		merged := *pr.MergedAt
		var list []*rv
		for _, r := range reviews[s] {
			if r.login != "" {
				list = append(list, r)
			}
		}
		slices.SortFunc(list, func(a, b *rv) int { return a.at.Compare(b.at) })
		latest := map[string]*rv{} // reviewer -> latest non-comment pre-merge review
		for _, r := range list {
			if r.state != "commented" && !r.at.After(merged) {
				latest[r.login] = r
			}
		}
		// CM-7: the latest ci/test result on the final head before the merge.
		var last *result
		for _, c := range checks[p.Repository.FullName+"@"+pr.Head.SHA] {
			if !c.at.After(merged) && (last == nil || c.at.After(last.at)) {
				last = &c
			}
		}
		if last != nil && last.conclusion == "success" {
			out["CM-7"][s] = model.Pass
		} else {
			out["CM-7"][s] = model.Fail
		}
		var qualifying []*rv
		approvers := map[string]bool{}
		for _, r := range list {
			if r.state == "approved" && person(r.login) != author && !bot(r.login) && !r.dismissed &&
				!r.at.After(merged) && latest[r.login] == r && !slices.Contains(contributors[s], person(r.login)) {
				qualifying = append(qualifying, r)
				approvers[person(r.login)] = true
			}
		}
		need := 1
		if bot(pr.User.Login) {
			need = h.Expect.BotMinApprovals
		}
		if len(approvers) >= need {
			out["CM-2"][s] = model.Pass
			o := model.Fail
			for _, r := range qualifying {
				if r.commit == pr.Head.SHA {
					o = model.Pass
				}
			}
			out["CM-3"][s] = o
			continue
		}
		emergency := false
		for _, l := range pr.Labels {
			if n := strings.ToLower(l.Name); n == "hotfix" || n == "emergency" {
				emergency = true
			}
		}
		if !emergency {
			out["CM-2"][s] = model.Fail
			continue
		}
		window := merged.Add(72 * time.Hour)
		o := model.Fail
		if h.Expect.Now.Before(window) {
			o = model.Pending
		}
		for _, r := range list {
			if r.state == "approved" && person(r.login) != author && !bot(r.login) && !r.dismissed &&
				r.at.After(merged) && !r.at.After(window) {
				o = model.Pass
			}
		}
		out["CM-2"][s] = o
	}
	return out
}
