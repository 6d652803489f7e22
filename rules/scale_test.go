package rules_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/rules"
	"github.com/changeproof/changeproof/rules/control"
	"github.com/changeproof/changeproof/store"
	"github.com/changeproof/changeproof/store/storetest"
)

// scaleEnv has people who leave, systems with break-glass roles and a
// policy that turns every control on.
func scaleEnv(gone time.Time) control.Env {
	p := control.DefaultPolicy()
	p.RequireTicket = true
	p.DirectPushExempt = []string{"release-bot"}
	return control.Env{
		Policy: p,
		Identities: model.NewIdentities([]model.Identity{
			{Name: "alice", Logins: []string{"alice", "alice-alt", "alice@corp"}},
			{Name: "bob", Logins: []string{"bob", "bob@corp"}},
			{Name: "mallory", Logins: []string{"mallory", "mal@corp"}, TerminatedAt: gone},
		}),
		ProductionEnvironments: []string{"production"},
		Systems: map[string]control.System{
			"db":      {Authorized: []string{"alice", "mallory"}, BreakGlassRoles: []string{"dba"}},
			"Bastion": {Authorized: []string{"bob@corp"}, BreakGlassRoles: []string{"root"}},
		},
	}
}

var t1 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

func at(min int) time.Time { return t1.Add(time.Duration(min) * time.Minute) }

// scaleHistory is a few repositories' worth of everything the controls
// judge: approved, self-approved, stale, dismissed and emergency pull
// requests, direct pushes (exempt or not, one later merged), deploys and
// protection changes, by people some of whom leave.
func scaleHistory() model.Batch {
	var b model.Batch
	people := []string{"alice", "bob", "mallory"}
	for r := 0; r < 3; r++ {
		repo := fmt.Sprintf("acme/r%d", r)
		prev := fmt.Sprintf("%040d", r)
		for n := 1; n <= 30; n++ {
			sha := fmt.Sprintf("%08d%032d", r, n)
			head := fmt.Sprintf("%08d%032d", r+100, n)
			author, reviewer := people[n%len(people)], people[(n+1)%len(people)]
			switch {
			case n%7 == 0:
				reviewer = "alice-alt" // self-approval when alice wrote it
				author = "alice"
			case n%13 == 0:
				reviewer = "dependabot[bot]"
			case n%17 == 0:
				author = "dependabot[bot]"
			}
			if n%10 == 9 { // a direct push
				pusher := []string{"release-bot", "mallory", "bob"}[n%3]
				b.Pushes = append(b.Pushes, model.Push{Repo: repo, Ref: "refs/heads/main", Before: prev, After: sha, DeliveryID: "p" + sha,
					DefaultBranch: "main", Pusher: pusher, PushedAt: at(10 * n), Messages: []string{fmt.Sprintf("OPS-%d fix", n)}})
				prev = sha
				continue
			}
			pr := model.PullRequest{Repo: repo, Number: n, DeliveryID: "pr" + sha, Action: "closed", State: "closed", Merged: true,
				MergedAt: at(10 * n), MergeCommitSHA: sha, HeadSHA: head, HeadRef: "work", BaseRef: "main", DefaultBranch: "main",
				Author: author, MergedBy: people[(n+2)%len(people)], Title: fmt.Sprintf("PAY-%d change", n)}
			if n%6 == 0 {
				pr.Title = "no ticket"
			}
			if n%8 == 0 {
				pr.Labels = []string{"hotfix"}
			}
			b.PullRequests = append(b.PullRequests, pr)
			commit := head
			if n%5 == 0 {
				commit = "stale" + head[5:] // approval of an earlier commit
			}
			submitted := at(10*n - 3)
			if n%8 == 0 {
				submitted = at(10*n + 30) // retro review
			}
			b.Reviews = append(b.Reviews, model.Review{Repo: repo, PRNumber: n, ReviewID: int64(1000*r + n), DeliveryID: "rv" + sha,
				Action: "submitted", Reviewer: reviewer, State: "approved", CommitID: commit, SubmittedAt: submitted})
			if n%11 == 0 {
				b.Reviews = append(b.Reviews, model.Review{Repo: repo, PRNumber: n, ReviewID: int64(1000*r + n), DeliveryID: "rd" + sha,
					Action: "dismissed", Reviewer: reviewer, State: "dismissed", CommitID: commit, SubmittedAt: submitted})
			}
			b.Pushes = append(b.Pushes, model.Push{Repo: repo, Ref: "refs/heads/main", Before: prev, After: sha, DeliveryID: "m" + sha,
				DefaultBranch: "main", Pusher: pr.MergedBy, PushedAt: at(10 * n)})
			prev = sha
			if n%2 == 0 {
				b.Deploys = append(b.Deploys, model.Deploy{ID: fmt.Sprint(100*r + n), Source: "api", Service: fmt.Sprintf("svc%d", r),
					Environment: []string{"production", "staging"}[n%12/10], SHA: sha, Repo: repo, Status: "success", Actor: "ci",
					StartedAt: at(10*n + 1), FinishedAt: at(10*n + 2)})
			}
		}
		b.Protections = append(b.Protections, model.ProtectionEvent{Repo: repo, DeliveryID: "prot" + repo, Action: "edited",
			Sender: "bob", RuleName: "main", ReviewEnforcement: "everyone", RequiredApprovals: r, DismissStale: true, OccurredAt: at(1)})
	}
	return b
}

func scaleAccess() []model.AccessEvent {
	var es []model.AccessEvent
	principals := []string{"alice", "alice@corp", "bob@corp", "mallory", "mal@corp", "eve", ""}
	systems := []string{"db", "bastion", "Bastion", "other"}
	for i := 0; i < 400; i++ {
		e := model.AccessEvent{ID: fmt.Sprintf("e%03d", i), System: systems[i%len(systems)], Time: at(i),
			Principal: principals[i%len(principals)], Action: "login", Result: []string{"success", "failure"}[i%9/8]}
		switch i % 13 {
		case 3:
			e.Role, e.Ticket = "dba", "OPS-1"
		case 4:
			e.Role, e.Ticket = "DBA", "urgent"
		case 5:
			e.Role = "root"
		}
		if i == 42 || i == 45 { // alice's and mallory's: no time
			e.Time = time.Time{}
		}
		es = append(es, e)
	}
	return es
}

// allFindings is every current finding, evidence included, by rule and
// subject, evaluation times cleared (the two stores judged at their own).
func allFindings(t *testing.T, st *store.Store) []model.Finding {
	t.Helper()
	fs, err := st.Findings(context.Background(), store.FindingQuery{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range fs {
		fs[i].EvaluatedAt = time.Time{}
	}
	return fs
}

// TestFullEvaluationEqualsOneByOne: the batched repository evaluation and
// the bulk access evaluation record exactly what evaluating each repository
// and each page of events alone records, from nothing, when nothing
// changed, and after a change of configuration and evidence.
func TestFullEvaluationEqualsOneByOne(t *testing.T) {
	ctx := context.Background()
	gone := at(100)
	env := scaleEnv(gone)
	var waivers []model.Waiver
	runners := map[string]*rules.Runner{}
	stores := map[string]*store.Store{}
	now := at(60 * 24)
	for _, mode := range []string{"one by one", "batched"} {
		st := storetest.Open(t)
		if err := st.Write(ctx, scaleHistory()); err != nil {
			t.Fatal(err)
		}
		if err := st.WriteAccess(ctx, scaleAccess()); err != nil {
			t.Fatal(err)
		}
		ev := &rules.Evaluator{Controls: rules.Builtin(), AccessControls: rules.BuiltinAccess(),
			Env: func() control.Env { return env }, Waivers: func() []model.Waiver { return waivers }, Store: st,
			Now: func() time.Time { return now }}
		// One by one: each repository and each page of events alone, and
		// everything at every round (no digest): what the batched, bulk and
		// digest paths must agree with.
		ev.OneByOne = mode == "one by one"
		runners[mode] = &rules.Runner{Eval: ev, Repos: st.Repos, AccessSystems: st.AccessSystems, AccessPage: st.AccessEvents,
			BatchChanges: 40, Workers: 2}
		stores[mode] = st
	}
	round := func(name string, wantChanged bool) {
		t.Helper()
		changed := map[string]int{}
		for mode, r := range runners {
			rep, err := r.Full(ctx)
			if err != nil {
				t.Fatalf("%s, %s: %v", name, mode, err)
			}
			changed[mode] = rep.Changed
		}
		if changed["batched"] != changed["one by one"] || (changed["batched"] > 0) != wantChanged {
			t.Fatalf("%s: recorded %v", name, changed)
		}
		a, b := allFindings(t, stores["one by one"]), allFindings(t, stores["batched"])
		if !reflect.DeepEqual(a, b) {
			for i := range min(len(a), len(b)) {
				if !reflect.DeepEqual(a[i], b[i]) {
					t.Fatalf("%s: finding %d differs:\none by one %+v\nbatched   %+v", name, i, a[i], b[i])
				}
			}
			t.Fatalf("%s: %d findings one by one, %d batched", name, len(a), len(b))
		}
		if name == "from nothing" {
			outcomes := map[string]bool{}
			for _, f := range a {
				outcomes[f.Rule+" "+string(f.Outcome)] = true
			}
			for _, want := range []string{"CM-1 fail", "CM-1 not_applicable", "CM-2 fail", "CM-2 pass", "CM-3 fail", "CM-4 fail",
				"CM-5 pass", "CM-5 fail", "CM-6 fail", "AC-1 pass", "AC-1 fail", "AC-1 error", "AC-1 not_applicable",
				"AC-2 pass", "AC-2 fail", "AC-3 pass", "AC-3 fail", "AC-3 error"} {
				if !outcomes[want] {
					t.Errorf("the history gives no %s finding: it does not test what it means to", want)
				}
			}
		}
	}
	round("from nothing", true)
	round("nothing changed", false)

	// Waive a failing change and an access, move a termination, merge a
	// direct push's commit through a pull request (withdrawing its finding)
	// and let time pass.
	var fails []model.Finding
	for _, f := range allFindings(t, stores["batched"]) {
		if f.Outcome == model.Fail && (f.Rule == "CM-2" || f.Rule == "AC-1") {
			fails = append(fails, f)
		}
	}
	waivers = []model.Waiver{{Rule: fails[0].Rule, Subject: fails[0].Subject, Reason: "ok", ApprovedBy: "cto", Expires: now.Add(time.Hour)},
		{Rule: strings.ToLower(fails[len(fails)-1].Rule), Subject: fails[len(fails)-1].Subject, Reason: "ok", ApprovedBy: "cto", Expires: now.Add(time.Hour)}}
	env = scaleEnv(gone.Add(24 * time.Hour))
	now = now.Add(time.Hour)
	for _, st := range stores {
		merged := model.PullRequest{Repo: "acme/r1", Number: 99, DeliveryID: "late", Action: "closed", State: "closed", Merged: true,
			MergedAt: at(90), MergeCommitSHA: fmt.Sprintf("%08d%032d", 1, 9), HeadSHA: "h", BaseRef: "main", DefaultBranch: "main",
			Author: "bob", MergedBy: "bob", Title: "PAY-9"}
		if err := st.Write(ctx, model.Batch{PullRequests: []model.PullRequest{merged}}); err != nil {
			t.Fatal(err)
		}
	}
	round("changed", true)
	round("nothing changed again", false)

	// What the two recorded is what judging the same evidence from nothing
	// gives, but for the withdrawn direct push, which only a history has.
	st := storetest.Open(t)
	for _, b := range []model.Batch{scaleHistory(), {PullRequests: []model.PullRequest{{Repo: "acme/r1", Number: 99, DeliveryID: "late",
		Action: "closed", State: "closed", Merged: true, MergedAt: at(90), MergeCommitSHA: fmt.Sprintf("%08d%032d", 1, 9), HeadSHA: "h",
		BaseRef: "main", DefaultBranch: "main", Author: "bob", MergedBy: "bob", Title: "PAY-9"}}}} {
		if err := st.Write(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.WriteAccess(ctx, scaleAccess()); err != nil {
		t.Fatal(err)
	}
	ev := &rules.Evaluator{Controls: rules.Builtin(), AccessControls: rules.BuiltinAccess(),
		Env: func() control.Env { return env }, Waivers: func() []model.Waiver { return waivers }, Store: st,
		Now: func() time.Time { return now }}
	if _, err := (&rules.Runner{Eval: ev, Repos: st.Repos, AccessSystems: st.AccessSystems, AccessPage: st.AccessEvents}).Full(ctx); err != nil {
		t.Fatal(err)
	}
	verdicts := func(fs []model.Finding) map[string]string {
		m := map[string]string{}
		for _, f := range fs {
			m[f.Rule+" "+f.Subject] = fmt.Sprintf("%s %q %s %v", f.Outcome, f.Reason, f.OccurredAt, f.Waiver)
		}
		return m
	}
	fresh, recorded := verdicts(allFindings(t, st)), verdicts(allFindings(t, stores["batched"]))
	pushed := "acme/r1@" + fmt.Sprintf("%08d%032d", 1, 9)
	for _, rule := range []string{"CM-1", "CM-4"} {
		if v := recorded[rule+" "+pushed]; !strings.HasPrefix(v, `not_applicable "merge of acme/r1#99"`) {
			t.Errorf("%s of the withdrawn direct push: %s", rule, v)
		}
		delete(recorded, rule+" "+pushed)
	}
	if !reflect.DeepEqual(fresh, recorded) {
		for k, v := range fresh {
			if recorded[k] != v {
				t.Errorf("%s: judged from nothing %s, recorded %s", k, v, recorded[k])
			}
		}
		t.Fatalf("%d verdicts from nothing, %d recorded", len(fresh), len(recorded))
	}
}
