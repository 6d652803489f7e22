package change_test

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/rules/change"
)

var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

func at(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }

func sha(s string) string { return fmt.Sprintf("%040x", []byte(s))[:40] }

const repo = "acme/api"

func snapshot(n int, delivery, action, base string, merged bool, received int) model.PullRequest {
	pr := model.PullRequest{Repo: repo, Number: n, DeliveryID: delivery, Action: action, State: "open", HeadSHA: sha(fmt.Sprint("h", n)),
		HeadRef: fmt.Sprint("work-", n), BaseRef: base, DefaultBranch: "main", Author: "alice", Title: fmt.Sprint("change ", n),
		URL: fmt.Sprint("https://github.com/acme/api/pull/", n), ReceivedAt: at(received)}
	if merged {
		pr.State, pr.Merged, pr.MergedAt, pr.MergeCommitSHA, pr.MergedBy = "closed", true, at(10*n), sha(fmt.Sprint("m", n)), "bob"
	}
	return pr
}

func push(after, before, delivery string, pushed, received int) model.Push {
	return model.Push{Repo: repo, Ref: "refs/heads/main", Before: before, After: after, DeliveryID: delivery, DefaultBranch: "main",
		Pusher: "erin", PushedAt: at(pushed), Messages: []string{"msg " + delivery}, ReceivedAt: at(received)}
}

func review(n int, id int64, action, state string, submitted, received int) model.Review {
	return model.Review{Repo: repo, PRNumber: n, ReviewID: id, DeliveryID: fmt.Sprint(action, id), Action: action, Reviewer: "carol",
		State: state, SubmittedAt: at(submitted), ReceivedAt: at(received)}
}

// awkward is one repository's records with every case that is not a
// change or is one only once: an open and an unmerged snapshot, a merge
// into another branch, a merge delivered twice (the later one edited), a
// push that is a merge commit, a commit pushed twice (received in the
// other order), branch creation and deletion, a push to another branch,
// another repository's rows, reviews and a dismissal.
func awkward() model.ChangeRecords {
	first := snapshot(2, "close-2", "closed", "main", true, 21)
	again := snapshot(2, "close-2-again", "closed", "main", true, 90)
	again.Title = "edited later"
	other := snapshot(1, "other-repo", "closed", "main", true, 11)
	other.Repo = "acme/web"
	created := push(sha("new"), sha("0"), "created", 1, 1)
	created.Created = true
	deleted := push(sha("0"), sha("d1"), "deleted", 2, 2)
	deleted.Deleted = true
	feature := push(sha("f"), sha("d1"), "feature", 3, 3)
	feature.Ref = "refs/heads/feature"
	tag := push(sha("t"), sha("d1"), "tag", 4, 4)
	tag.Ref = "refs/tags/v1"
	webPush := push(sha("w"), sha("d1"), "web", 5, 5)
	webPush.Repo = "acme/web"
	pushedBack := push(sha("d1"), sha("m2"), "back", 50, 7) // the same commit again, received first
	return model.ChangeRecords{
		PullRequests: []model.PullRequest{
			snapshot(1, "open-1", "opened", "main", false, 1),
			snapshot(1, "close-1", "closed", "main", true, 11),
			snapshot(2, "open-2", "opened", "main", false, 2), again, first,
			snapshot(3, "close-3", "closed", "release", true, 31), // merged into another branch
			snapshot(4, "close-4", "closed", "main", false, 41),   // closed unmerged
			other,
		},
		Reviews: []model.Review{
			review(1, 11, "dismissed", "dismissed", 5, 8), review(1, 11, "submitted", "approved", 5, 6),
			review(1, 10, "submitted", "commented", 4, 4), review(3, 30, "submitted", "approved", 25, 25),
		},
		Pushes: []model.Push{
			push(sha("m2"), sha("m1"), "merge-2", 20, 20), push(sha("m1"), sha("d0"), "merge-1", 10, 10),
			push(sha("d1"), sha("m2"), "direct-1", 30, 30), pushedBack, push(sha("d0"), sha("b"), "direct-0", 5, 5),
			created, deleted, feature, tag, webPush,
		},
		Contributions: []model.Contribution{
			{Repo: repo, PRNumber: 1, Login: "dave", How: model.ContribPushed, SHA: sha("x"), At: at(3)},
			{Repo: repo, PRNumber: 1, Login: "alice", How: model.ContribPushed, SHA: sha("y"), At: at(3)}, // the author
		},
		Checks: []model.CheckResult{
			{Repo: repo, SHA: sha("h1"), Name: "ci", State: "success", At: at(9)},
			{Repo: repo, SHA: sha("h1"), Name: "ci", State: "failure", At: at(8)},
			{Repo: "acme/web", SHA: sha("h1"), Name: "ci", State: "failure", At: at(8)},
		},
	}
}

func TestDerive(t *testing.T) {
	ev := &model.RepoEvidence{Repo: repo, Records: awkward()}
	change.Derive(ev)
	var got []string
	for _, c := range ev.Changes {
		got = append(got, fmt.Sprintf("%s %s %s %s", c.Subject, c.Kind, c.OccurredAt.Format("15:04"), c.Title+c.SHA))
	}
	want := []string{
		"acme/api#1 pull_request 09:10 change 1",
		"acme/api#2 pull_request 09:20 change 2", // the first-received merge, not the later edit
		"acme/api@" + sha("d0") + " direct_push 09:05 " + sha("d0"),
		"acme/api@" + sha("d1") + " direct_push 09:50 " + sha("d1"), // pushed twice: the first received
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("changes:\n%q\nwant\n%q", got, want)
	}
	var reviews []string
	for _, r := range ev.Changes[0].Reviews {
		reviews = append(reviews, fmt.Sprint(r.ReviewID, r.Action))
	}
	if !reflect.DeepEqual(reviews, []string{"10submitted", "11submitted", "11dismissed"}) || ev.Changes[1].Reviews != nil {
		t.Errorf("reviews %q, of #2 %v", reviews, ev.Changes[1].Reviews)
	}
	if c := ev.Changes[0]; len(c.Contributors) != 1 || c.Contributors[0].Login != "dave" || len(c.Checks) != 2 || c.Checks[0].State != "failure" {
		t.Errorf("contributors %+v checks %+v", c.Contributors, c.Checks)
	}
	if !reflect.DeepEqual(ev.MergeCommits, map[string]int{sha("m1"): 1, sha("m2"): 2}) {
		t.Errorf("merge commits %v", ev.MergeCommits)
	}
	var chain []string
	for _, p := range ev.Pushes {
		chain = append(chain, p.DeliveryID)
	}
	if want := []string{"direct-0", "merge-1", "merge-2", "direct-1", "back"}; !reflect.DeepEqual(chain, want) {
		t.Errorf("chain %q, want %q", chain, want)
	}
}

// TestDeriveIgnoresOrder: the rows in any order, read twice, give the same
// changes, and the records are left as they were.
func TestDeriveIgnoresOrder(t *testing.T) {
	want := &model.RepoEvidence{Repo: repo, Records: awkward()}
	change.Derive(want)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 50; i++ {
		rec := awkward()
		rng.Shuffle(len(rec.PullRequests), func(i, j int) { rec.PullRequests[i], rec.PullRequests[j] = rec.PullRequests[j], rec.PullRequests[i] })
		rng.Shuffle(len(rec.Reviews), func(i, j int) { rec.Reviews[i], rec.Reviews[j] = rec.Reviews[j], rec.Reviews[i] })
		rng.Shuffle(len(rec.Pushes), func(i, j int) { rec.Pushes[i], rec.Pushes[j] = rec.Pushes[j], rec.Pushes[i] })
		rng.Shuffle(len(rec.Checks), func(i, j int) { rec.Checks[i], rec.Checks[j] = rec.Checks[j], rec.Checks[i] })
		shuffled := model.ChangeRecords{PullRequests: append([]model.PullRequest(nil), rec.PullRequests...),
			Reviews: append([]model.Review(nil), rec.Reviews...), Pushes: append([]model.Push(nil), rec.Pushes...),
			Contributions: rec.Contributions, Checks: append([]model.CheckResult(nil), rec.Checks...)}
		ev := &model.RepoEvidence{Repo: repo, Records: rec}
		change.Derive(ev)
		change.Derive(ev)
		if !reflect.DeepEqual(ev.Records, shuffled) {
			t.Fatal("Derive changed the records it read")
		}
		ev.Records = want.Records
		if !reflect.DeepEqual(ev, want) {
			t.Fatalf("shuffle %d:\n got %+v\nwant %+v", i, ev.Changes, want.Changes)
		}
	}
}

// TestLookup: each key finds the change Derive gives, or nothing.
func TestLookup(t *testing.T) {
	rec := awkward()
	// A second pull request merged as m1: the lower number is its change.
	late := snapshot(9, "close-9", "closed", "main", true, 95)
	late.MergeCommitSHA = sha("m1")
	rec.PullRequests = append(rec.PullRequests, late)
	ev := &model.RepoEvidence{Repo: repo, Records: rec}
	change.Derive(ev)
	derived := map[string]model.Change{}
	for _, c := range ev.Changes {
		derived[c.Subject] = c
	}
	cases := []struct {
		key  model.ChangeKey
		want string // subject; "" = none
	}{
		{model.ChangeKey{Repo: repo, Number: 1}, "acme/api#1"},
		{model.ChangeKey{Repo: repo, Number: 2}, "acme/api#2"},
		{model.ChangeKey{Repo: repo, Number: 9}, "acme/api#9"},
		{model.ChangeKey{Repo: repo, SHA: sha("m1")}, "acme/api#1"},
		{model.ChangeKey{Repo: repo, SHA: sha("m2")}, "acme/api#2"},
		{model.ChangeKey{Repo: repo, Number: 9, SHA: sha("m1")}, "acme/api#1"},
		{model.ChangeKey{Repo: repo, SHA: sha("d1")}, "acme/api@" + sha("d1")},
		{model.ChangeKey{Repo: repo, SHA: sha("d0")}, "acme/api@" + sha("d0")},
		{model.ChangeKey{Repo: repo, Number: 3}, ""},       // merged into another branch
		{model.ChangeKey{Repo: repo, Number: 4}, ""},       // closed unmerged
		{model.ChangeKey{Repo: repo, SHA: sha("new")}, ""}, // created the branch
		{model.ChangeKey{Repo: repo, SHA: sha("f")}, ""},   // another branch
		{model.ChangeKey{Repo: "acme/web", SHA: sha("w")}, "acme/web@" + sha("w")},
		{model.ChangeKey{Repo: repo, SHA: sha("w")}, ""}, // another repository's push
		{model.ChangeKey{Repo: "acme/web", Number: 1}, "acme/web#1"},
	}
	keys := make([]model.ChangeKey, len(cases))
	for i, c := range cases {
		keys[i] = c.key
	}
	got := change.Lookup(rec, keys)
	for _, c := range cases {
		ch, ok := got[c.key]
		if c.want == "" {
			if ok {
				t.Errorf("%+v: found %s", c.key, ch.Subject)
			}
			continue
		}
		if !ok || ch.Subject != c.want {
			t.Errorf("%+v: got %q, want %s", c.key, ch.Subject, c.want)
			continue
		}
		if d, ok := derived[c.want]; ok && !reflect.DeepEqual(ch, d) {
			t.Errorf("%+v: Lookup\n%+v\nDerive\n%+v", c.key, ch, d)
		}
	}
	if len(change.Lookup(rec, nil)) != 0 {
		t.Error("no keys found something")
	}
}

func TestPredicates(t *testing.T) {
	p := push(sha("a"), sha("b"), "p", 1, 1)
	for _, c := range []struct {
		edit func(*model.Push)
		want bool
	}{
		{func(*model.Push) {}, true},
		{func(p *model.Push) { p.Created = true }, false},
		{func(p *model.Push) { p.Deleted = true }, false},
		{func(p *model.Push) { p.Ref = "refs/tags/main" }, false},
		{func(p *model.Push) { p.Ref = "main" }, false},
		{func(p *model.Push) { p.DefaultBranch = "trunk" }, false},
		{func(p *model.Push) { p.Forced = true }, true},
	} {
		q := p
		c.edit(&q)
		if got := change.MovesDefaultBranch(q); got != c.want {
			t.Errorf("%+v: %v, want %v", q, got, c.want)
		}
	}
	pr := snapshot(1, "d", "closed", "main", true, 1)
	for _, c := range []struct {
		edit func(*model.PullRequest)
		want bool
	}{
		{func(*model.PullRequest) {}, true},
		{func(p *model.PullRequest) { p.Merged = false }, false},
		{func(p *model.PullRequest) { p.Action = "edited" }, false},
		{func(p *model.PullRequest) { p.BaseRef = "release" }, false},
	} {
		q := pr
		c.edit(&q)
		if got := change.MergedSnapshot(q); got != c.want {
			t.Errorf("%+v: %v, want %v", q, got, c.want)
		}
	}
}
