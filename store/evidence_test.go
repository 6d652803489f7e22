package store_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/rules/change"
	"github.com/changeproof/changeproof/store"
	"github.com/changeproof/changeproof/store/storetest"
)

// jsonOnlyDB hides the embedded engine's QueryFormat: the store then reads
// through Query (JSON), as it does on a ClickHouse server.
type jsonOnlyDB struct{ store.DB }

func sha(s string) string { return fmt.Sprintf("%040x", []byte(s))[:40] }

// evidenceHistory is one repository's messy history, as webhooks deliver
// it, and a little of a neighbour's: snapshots out of order and repeated,
// unmerged and other-branch pull requests, review edits and dismissals, a
// direct push that later turns out to be a merge, a commit pushed twice,
// branch creation and deletion, deploys and protection changes.
func evidenceHistory(repo string, k int) model.Batch {
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	var b model.Batch
	pr := func(n int, delivery, action string, merged bool, base string, min int) model.PullRequest {
		p := model.PullRequest{Repo: repo, Number: n, DeliveryID: delivery, Action: action, State: "open", HeadSHA: sha(fmt.Sprint("h", n)),
			HeadRef: fmt.Sprintf("PAY-%d-work", n), BaseRef: base, DefaultBranch: "main", Author: "alice", Title: fmt.Sprintf("change %d <b>&</b>", n),
			Body: "line 1\nline \"2\"\t\u2028é", URL: fmt.Sprintf("https://github.com/%s/pull/%d", repo, n),
			Labels: []string{}, UpdatedAt: at(min), ReceivedAt: at(min).Add(time.Second)}
		if merged {
			p.State, p.Merged, p.MergedAt, p.MergeCommitSHA, p.MergedBy = "closed", true, at(min), sha(fmt.Sprint("m", n)), "bob"
		}
		if n%3 == 0 {
			p.Labels = []string{"hotfix", "backend"}
		}
		return p
	}
	for n := 1; n <= 12; n++ {
		b.PullRequests = append(b.PullRequests, pr(n, fmt.Sprint("open-", n), "opened", false, "main", 10*n-5))
		switch {
		case n == 4: // closed without merge
			c := pr(n, fmt.Sprint("close-", n), "closed", false, "main", 10*n)
			c.State = "closed"
			b.PullRequests = append(b.PullRequests, c)
		case n == 5: // merged into another branch
			b.PullRequests = append(b.PullRequests, pr(n, fmt.Sprint("close-", n), "closed", true, "release", 10*n))
		default:
			b.PullRequests = append(b.PullRequests, pr(n, fmt.Sprint("close-", n), "closed", true, "main", 10*n))
		}
		if n == 7 { // the merge delivered twice, the later one received later
			again := pr(n, "close-7-again", "closed", true, "main", 10*n)
			again.ReceivedAt = again.ReceivedAt.Add(time.Hour)
			again.Title = "edited later"
			b.PullRequests = append(b.PullRequests, again)
		}
		// reviews: approval, edit, dismissal, comment
		rid := int64(100 * n)
		b.Reviews = append(b.Reviews,
			model.Review{Repo: repo, PRNumber: n, ReviewID: rid, DeliveryID: fmt.Sprint("rv-", rid), Action: "submitted", Reviewer: "carol",
				State: "approved", CommitID: sha(fmt.Sprint("h", n)), SubmittedAt: at(10*n - 3), URL: "u", ReceivedAt: at(10*n - 3)},
			model.Review{Repo: repo, PRNumber: n, ReviewID: rid + 1, DeliveryID: fmt.Sprint("rv-", rid+1), Action: "submitted", Reviewer: "dave",
				State: "commented", SubmittedAt: at(10*n - 3), ReceivedAt: at(10*n - 2)})
		if n%2 == 0 {
			b.Reviews = append(b.Reviews, model.Review{Repo: repo, PRNumber: n, ReviewID: rid, DeliveryID: fmt.Sprint("rv-d-", rid),
				Action: "dismissed", Reviewer: "carol", State: "dismissed", CommitID: sha(fmt.Sprint("h", n)), SubmittedAt: at(10*n - 3),
				ReceivedAt: at(10*n - 1)})
		}
	}
	// The default-branch chain: each merge, and direct pushes.
	prev := sha("base")
	push := func(after, delivery, pusher string, min int) model.Push {
		p := model.Push{Repo: repo, Ref: "refs/heads/main", Before: prev, After: after, DeliveryID: delivery, DefaultBranch: "main",
			Pusher: pusher, PushedAt: at(min), CommitSHAs: []string{after}, Messages: []string{"msg " + delivery, "second"},
			URL: "https://github.com/" + repo + "/compare", ReceivedAt: at(min).Add(2 * time.Second)}
		prev = after
		return p
	}
	for n := 1; n <= 12; n++ {
		if n == 4 || n == 5 {
			b.Pushes = append(b.Pushes, push(sha(fmt.Sprint("d", n)), fmt.Sprint("push-d", n), "erin", 10*n))
			continue
		}
		b.Pushes = append(b.Pushes, push(sha(fmt.Sprint("m", n)), fmt.Sprint("push-", n), "bob", 10*n))
	}
	// The same commit pushed again later from elsewhere (a branch moved
	// back and forth), received in either order.
	back := push(sha("d4"), "push-again", "erin", 200)
	back.ReceivedAt = at(1)
	b.Pushes = append(b.Pushes, back,
		// Two pushes with the same time and receipt.
		push(sha("t1"), "push-t1", "erin", 300), push(sha("t2"), "push-t2", "erin", 300),
		model.Push{Repo: repo, Ref: "refs/heads/feature", Before: sha("base"), After: sha("f"), DeliveryID: "feature", DefaultBranch: "main",
			Pusher: "erin", PushedAt: at(5), CommitSHAs: []string{}, Messages: []string{}, ReceivedAt: at(5)},
		model.Push{Repo: repo, Ref: "refs/heads/main", Before: strings.Repeat("0", 40), After: sha("new"), DeliveryID: "created",
			DefaultBranch: "main", Created: true, Pusher: "erin", PushedAt: at(6), ReceivedAt: at(6)})
	b.Pushes[len(b.Pushes)-3].ReceivedAt = b.Pushes[len(b.Pushes)-4].ReceivedAt
	for i := 0; i < 6; i++ {
		d := model.Deploy{ID: fmt.Sprint(100*k + 9 - i), Source: "api", Service: "svc", Environment: []string{"production", "staging"}[i%2],
			SHA: sha(fmt.Sprint("m", 2*i+1)), Repo: repo, Status: "success", Actor: "ci", StartedAt: at(20 * i),
			URL: "https://ci/" + fmt.Sprint(i), ReceivedAt: at(20 * i)}
		if i%3 == 0 {
			d.FinishedAt = at(20*i + 5)
		}
		b.Deploys = append(b.Deploys, d)
	}
	b.Protections = append(b.Protections,
		model.ProtectionEvent{Repo: repo, DeliveryID: "prot-2", Action: "edited", Sender: "erin", RuleName: "main", ReviewEnforcement: "off",
			RequiredApprovals: 0, OccurredAt: at(50), ReceivedAt: at(50)},
		model.ProtectionEvent{Repo: repo, DeliveryID: "prot-1", Action: "created", Sender: "erin", RuleName: "main", ReviewEnforcement: "everyone",
			RequiredApprovals: 1, DismissStale: true, AdminEnforced: true, OccurredAt: at(10), ReceivedAt: at(10)})
	return b
}

// Rows as the views answer them, for viewEvidence.
type (
	viewPR struct {
		Repo           string     `json:"repo"`
		Number         int        `json:"number"`
		DeliveryID     string     `json:"delivery_id"`
		Action         string     `json:"action"`
		State          string     `json:"state"`
		Merged         bool       `json:"merged"`
		MergedAt       store.Time `json:"merged_at"`
		MergeCommitSHA string     `json:"merge_commit_sha"`
		HeadSHA        string     `json:"head_sha"`
		HeadRef        string     `json:"head_ref"`
		BaseRef        string     `json:"base_ref"`
		DefaultBranch  string     `json:"default_branch"`
		Author         string     `json:"author"`
		MergedBy       string     `json:"merged_by"`
		Title          string     `json:"title"`
		Body           string     `json:"body"`
		URL            string     `json:"url"`
		Labels         []string   `json:"labels"`
		UpdatedAt      store.Time `json:"updated_at"`
		ReceivedAt     store.Time `json:"received_at"`
	}
	viewReview struct {
		Repo        string     `json:"repo"`
		PRNumber    int        `json:"pr_number"`
		ReviewID    int64      `json:"review_id"`
		DeliveryID  string     `json:"delivery_id"`
		Action      string     `json:"action"`
		Reviewer    string     `json:"reviewer"`
		State       string     `json:"state"`
		CommitID    string     `json:"commit_id"`
		SubmittedAt store.Time `json:"submitted_at"`
		URL         string     `json:"url"`
		ReceivedAt  store.Time `json:"received_at"`
	}
	viewPush struct {
		Repo          string     `json:"repo"`
		Ref           string     `json:"ref"`
		Before        string     `json:"before"`
		After         string     `json:"after"`
		DeliveryID    string     `json:"delivery_id"`
		DefaultBranch string     `json:"default_branch"`
		Pusher        string     `json:"pusher"`
		Created       bool       `json:"created"`
		Deleted       bool       `json:"deleted"`
		Forced        bool       `json:"forced"`
		PushedAt      store.Time `json:"pushed_at"`
		CommitSHAs    []string   `json:"commit_shas"`
		Messages      []string   `json:"messages"`
		URL           string     `json:"url"`
		ReceivedAt    store.Time `json:"received_at"`
	}
	viewProtection struct {
		Repo              string     `json:"repo"`
		DeliveryID        string     `json:"delivery_id"`
		Action            string     `json:"action"`
		Sender            string     `json:"sender"`
		RuleName          string     `json:"rule_name"`
		ReviewEnforcement string     `json:"review_enforcement"`
		RequiredApprovals int        `json:"required_approvals"`
		DismissStale      bool       `json:"dismiss_stale"`
		AdminEnforced     bool       `json:"admin_enforced"`
		OccurredAt        store.Time `json:"occurred_at"`
		ReceivedAt        store.Time `json:"received_at"`
	}
)

func (r viewPush) model() model.Push {
	return model.Push{Repo: r.Repo, Ref: r.Ref, Before: r.Before, After: r.After, DeliveryID: r.DeliveryID,
		DefaultBranch: r.DefaultBranch, Pusher: r.Pusher, Created: r.Created, Deleted: r.Deleted, Forced: r.Forced,
		PushedAt: r.PushedAt.T(), CommitSHAs: r.CommitSHAs, Messages: r.Messages, URL: r.URL, ReceivedAt: r.ReceivedAt.T()}
}

// viewEvidence is RepoEvidence as it read the views before its reads were
// made fast: the reference they must equal.
func viewEvidence(t *testing.T, s *store.Store, repo string) *model.RepoEvidence {
	t.Helper()
	ctx := context.Background()
	p := store.Params{"repo": repo}
	q := func(sql string, dest any) {
		t.Helper()
		if err := storetest.DB(s).Query(ctx, sql, p, dest); err != nil {
			t.Fatal(err)
		}
	}
	var prs []viewPR
	q("SELECT * FROM merged_pull_requests WHERE repo = {repo:String} ORDER BY number", &prs)
	var revs []viewReview
	q("SELECT * FROM reviews FINAL WHERE repo = {repo:String} ORDER BY pr_number, submitted_at, review_id, action = 'dismissed', delivery_id", &revs)
	var direct, chain []viewPush
	q("SELECT * FROM direct_pushes WHERE repo = {repo:String} ORDER BY pushed_at, after", &direct)
	// (The tie-break by commit is the fast read's, which the view query did
	// not order by: without it ties came in any order.)
	q("SELECT * FROM default_branch_pushes WHERE repo = {repo:String} ORDER BY pushed_at, received_at, after, before", &chain)
	var prot []viewProtection
	q("SELECT * FROM protection_events FINAL WHERE repo = {repo:String} ORDER BY occurred_at, delivery_id", &prot)
	deploys, err := s.DeploysOf(ctx, repo)
	if err != nil {
		t.Fatal(err)
	}
	ev := &model.RepoEvidence{Repo: repo, MergeCommits: map[string]int{}, Deploys: deploys}
	byPR := map[int][]model.Review{}
	for _, r := range revs {
		byPR[r.PRNumber] = append(byPR[r.PRNumber], model.Review{Repo: r.Repo, PRNumber: r.PRNumber, ReviewID: r.ReviewID,
			DeliveryID: r.DeliveryID, Action: r.Action, Reviewer: r.Reviewer, State: r.State, CommitID: r.CommitID,
			SubmittedAt: r.SubmittedAt.T(), URL: r.URL, ReceivedAt: r.ReceivedAt.T()})
	}
	for _, r := range prs {
		pr := model.PullRequest{Repo: r.Repo, Number: r.Number, DeliveryID: r.DeliveryID, Action: r.Action, State: r.State,
			Merged: r.Merged, MergedAt: r.MergedAt.T(), MergeCommitSHA: r.MergeCommitSHA, HeadSHA: r.HeadSHA, HeadRef: r.HeadRef,
			BaseRef: r.BaseRef, DefaultBranch: r.DefaultBranch, Author: r.Author, MergedBy: r.MergedBy, Title: r.Title,
			Body: r.Body, URL: r.URL, Labels: r.Labels, UpdatedAt: r.UpdatedAt.T(), ReceivedAt: r.ReceivedAt.T()}
		ev.MergeCommits[pr.MergeCommitSHA] = pr.Number
		ev.Changes = append(ev.Changes, change.FromPullRequest(pr, byPR[pr.Number]))
	}
	for _, r := range direct {
		ev.Changes = append(ev.Changes, change.FromPush(r.model()))
	}
	for _, r := range prot {
		ev.Protections = append(ev.Protections, model.ProtectionEvent{Repo: r.Repo, DeliveryID: r.DeliveryID, Action: r.Action,
			Sender: r.Sender, RuleName: r.RuleName, ReviewEnforcement: r.ReviewEnforcement, RequiredApprovals: r.RequiredApprovals,
			DismissStale: r.DismissStale, AdminEnforced: r.AdminEnforced, OccurredAt: r.OccurredAt.T(), ReceivedAt: r.ReceivedAt.T()})
	}
	for _, r := range chain {
		ev.Pushes = append(ev.Pushes, r.model())
	}
	return ev
}

// TestRepoEvidenceEqualsTheViews: the repository-filtered reads, the batch
// read, and the JSON path all give, once rules/change derives their
// changes, what the views give.
func TestRepoEvidenceEqualsTheViews(t *testing.T) {
	ctx := context.Background()
	s := storetest.Open(t)
	for k, repo := range []string{"acme/api", "acme/api-2", "acme/web"} {
		if err := s.Write(ctx, evidenceHistory(repo, k)); err != nil {
			t.Fatal(err)
		}
	}
	plain := store.New(jsonOnlyDB{storetest.DB(s)})
	repos := []string{"acme/api", "acme/api-2", "acme/empty", "acme/web"}
	batch, err := s.RepoEvidences(ctx, repos)
	if err != nil {
		t.Fatal(err)
	}
	for _, repo := range repos {
		want := viewEvidence(t, s, repo)
		if repo != "acme/empty" && (len(want.Changes) < 10 || len(want.Pushes) < 12 || len(want.Deploys) != 6 || len(want.Protections) != 2) {
			t.Fatalf("%s: the history is not what the test means: %d changes, %d pushes", repo, len(want.Changes), len(want.Pushes))
		}
		for name, get := range map[string]func() (*model.RepoEvidence, error){
			"RepoEvidence":       func() (*model.RepoEvidence, error) { return s.RepoEvidence(ctx, repo) },
			"RepoEvidences":      func() (*model.RepoEvidence, error) { return batch[repo], nil },
			"RepoEvidence, JSON": func() (*model.RepoEvidence, error) { return plain.RepoEvidence(ctx, repo) },
		} {
			got, err := get()
			if err != nil {
				t.Fatalf("%s %s: %v", name, repo, err)
			}
			change.Derive(got)
			got.Records = model.ChangeRecords{} // the rows derived from, which the views do not show
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s %s differs from the views:\n got %+v\nwant %+v", name, repo, got, want)
			}
		}
	}
}

// TestCurrentVerdicts: what CurrentFindings says, without the evidence,
// for several repositories at once, however the history was written: a
// retried insert, and two writers recording the same microsecond.
func TestCurrentVerdicts(t *testing.T) {
	ctx := context.Background()
	s := storetest.Open(t)
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	w := &model.Waiver{Rule: "CM-2", Subject: "acme/api#2", Reason: "ok", ApprovedBy: "cto", Expires: t0.Add(time.Hour)}
	f := func(rule, subject, repo string, outcome model.Outcome, reason string, at time.Duration) model.Finding {
		return model.Finding{Rule: rule, Subject: subject, Repo: repo, Outcome: outcome, Reason: reason, OccurredAt: t0,
			EvaluatedAt: t0.Add(at), Evidence: model.Evidence{ChangeEvidence: model.ChangeEvidence{URL: "u"}, DeployEvidence: model.DeployEvidence{Shipped: []string{subject}}}}
	}
	waived := f("CM-2", "acme/api#2", "acme/api", model.Waived, "waived", 2*time.Second)
	waived.Waiver = w
	history := [][]model.Finding{
		{f("CM-1", "acme/api#1", "acme/api", model.Pass, "one", 0), f("CM-2", "acme/api#2", "acme/api", model.Fail, "two", 0),
			f("CM-1", "acme/web#1", "acme/web", model.Fail, "web", 0), f("CM-5", "svc@prod@1", "acme/api", model.Pass, "deploy", 0)},
		{f("CM-1", "acme/api#1", "acme/api", model.Fail, "one again", time.Second), waived},
		{waived}, // a retried insert: the same row twice
		{f("CM-5", "svc@prod@1", "acme/api", model.Fail, "first writer", time.Minute)},
		{f("CM-5", "svc@prod@1", "acme/api", model.Error, "second writer", time.Minute)},
	}
	for _, fs := range history {
		if err := s.AppendFindings(ctx, fs); err != nil {
			t.Fatal(err)
		}
	}
	for _, st := range []*store.Store{s, store.New(jsonOnlyDB{storetest.DB(s)})} {
		got := map[string][]model.Finding{}
		err := st.CurrentVerdicts(ctx, []string{"acme/api", "acme/web", "acme/none"}, func(f *model.Finding) error {
			got[f.Repo] = append(got[f.Repo], *f)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, repo := range []string{"acme/api", "acme/web", "acme/none"} {
			want, err := s.CurrentFindings(ctx, repo)
			if err != nil {
				t.Fatal(err)
			}
			for i := range want {
				want[i].Evidence = model.Evidence{}
			}
			if !reflect.DeepEqual(got[repo], want) && len(want)+len(got[repo]) > 0 {
				t.Errorf("%s:\n got %+v\nwant %+v", repo, got[repo], want)
			}
		}
	}
}

// TestVerdictsBetween: the current verdicts of a stretch of subjects, in
// order, as Findings gives them.
func TestVerdictsBetween(t *testing.T) {
	ctx := context.Background()
	s := storetest.Open(t)
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	var fs []model.Finding
	for i, subject := range []string{"db:a1", "db:a2", "db:a3", "db-2:a2", "db:b", "dc:a2", "db:a20"} {
		for k, rule := range []string{"AC-1", "AC-2", "CM-1"} {
			fs = append(fs, model.Finding{Rule: rule, Subject: subject, Outcome: model.Pass, Reason: fmt.Sprint("r", i, k),
				OccurredAt: t0, EvaluatedAt: t0})
			fs = append(fs, model.Finding{Rule: rule, Subject: subject, Outcome: model.Fail, Reason: fmt.Sprint("later", i, k),
				OccurredAt: t0, EvaluatedAt: t0.Add(time.Duration(k+1) * time.Second)})
		}
	}
	if err := s.AppendFindings(ctx, fs); err != nil {
		t.Fatal(err)
	}
	all, err := s.Findings(ctx, store.FindingQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, f := range all {
		if (f.Rule == "AC-1" || f.Rule == "AC-2") && f.Subject >= "db:a2" && f.Subject <= "db:a3" {
			want = append(want, f.Rule+" "+f.Subject+" "+f.Reason)
		}
	}
	for _, st := range []*store.Store{s, store.New(jsonOnlyDB{storetest.DB(s)})} {
		var got []string
		err := st.VerdictsBetween(ctx, []string{"AC-1", "AC-2"}, "db:a2", "db:a3", func(f *model.Finding) error {
			got = append(got, f.Rule+" "+f.Subject+" "+f.Reason)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(want) != 6 || !reflect.DeepEqual(got, want) {
			t.Errorf("got %q\nwant %q", got, want)
		}
	}
}

// TestJudgedAccess: a system's events in id order, a page at a time, with
// the fields the access controls judge, as AccessEvents reads them.
func TestJudgedAccess(t *testing.T) {
	ctx := context.Background()
	s := storetest.Open(t)
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	var es []model.AccessEvent
	for i := 0; i < 25; i++ {
		e := model.AccessEvent{ID: fmt.Sprintf("e%d", i), System: []string{"db", "ssh"}[i%2], Time: t0.Add(time.Duration(i) * time.Second),
			Principal: fmt.Sprint("p", i%4), Action: "login", Result: []string{"success", "failure"}[i%3/2], Role: []string{"", "dba"}[i%5/4],
			Ticket: []string{"", "OPS-1"}[i%7/6], SourceIP: "10.0.0.1", Source: "s", Format: "generic", Raw: "{}", ReceivedAt: t0}
		if i == 3 {
			e.Time = time.Time{}
		}
		es = append(es, e)
	}
	if err := s.WriteAccess(ctx, es); err != nil {
		t.Fatal(err)
	}
	for _, st := range []*store.Store{s, store.New(jsonOnlyDB{storetest.DB(s)})} {
		var got []model.AccessEvent
		after := ""
		for {
			n, err := st.JudgedAccess(ctx, "db", after, 5, func(e model.AccessEvent) error {
				got = append(got, e)
				after = e.ID
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if n < 5 {
				break
			}
		}
		want, err := s.AccessEvents(ctx, "db", "", 100)
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			want[i].Action, want[i].SourceIP, want[i].Source, want[i].Format, want[i].Raw, want[i].ReceivedAt = "", "", "", "", "", time.Time{}
		}
		if len(want) != 13 || !reflect.DeepEqual(got, want) {
			t.Errorf("got %+v\nwant %+v", got, want)
		}
	}
}
