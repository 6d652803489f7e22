package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/rules/change"
	"github.com/changeproof/changeproof/store"
	"github.com/changeproof/changeproof/store/storetest"
)

// awkwardOrg generates an organisation's change history with the cases
// that make "what is a change" hard, as webhooks and backfill deliver
// them: pull requests merged into the default branch, into another branch,
// or closed unmerged; merges delivered again later (edited); merge-commit
// pushes, direct pushes, the same commit pushed twice, the same push
// learned twice; branch creation and deletion and pushes to other branches;
// a repository whose default branch is not main. Receipt times are
// distinct, so that no choice depends on how ties are broken.
func awkwardOrg(seed uint64) []model.Batch {
	rng := rand.New(rand.NewPCG(seed, seed+1))
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	tick := 0
	receipt := func() time.Time { tick++; return t0.Add(time.Duration(tick) * time.Second) }
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	var rows model.Batch
	for r, branch := range []string{"main", "main", "trunk", "main"} {
		repo := fmt.Sprintf("acme/svc-%d", r)
		prev := sha(repo + "base")
		pushTo := func(ref, after string, min int) model.Push {
			p := model.Push{Repo: repo, Ref: ref, Before: prev, After: after, DeliveryID: fmt.Sprint("push-", tick), DefaultBranch: branch,
				Pusher: []string{"erin", "frank"}[rng.IntN(2)], PushedAt: at(min), CommitSHAs: []string{after},
				Messages: []string{"first line", fmt.Sprint("last line ", tick)}, URL: "https://github.com/" + repo + "/compare",
				ReceivedAt: receipt()}
			if ref == "refs/heads/"+branch {
				prev = after
			}
			return p
		}
		for n := 1; n <= 40; n++ {
			min := 10 * n
			base := branch
			if rng.IntN(6) == 0 {
				base = "release"
			}
			pr := model.PullRequest{Repo: repo, Number: n, DeliveryID: fmt.Sprint("open-", n), Action: "opened", State: "open",
				HeadSHA: sha(fmt.Sprint(repo, "h", n)), HeadRef: fmt.Sprint("work-", n), BaseRef: base, DefaultBranch: branch,
				Author: []string{"alice", "bob", "carol"}[rng.IntN(3)], Title: fmt.Sprint("change ", n),
				URL: fmt.Sprintf("https://github.com/%s/pull/%d", repo, n), Labels: []string{}, UpdatedAt: at(min - 5), ReceivedAt: receipt()}
			rows.PullRequests = append(rows.PullRequests, pr)
			merge := sha(fmt.Sprint(repo, "m", n))
			switch k := rng.IntN(10); {
			case k == 0: // closed unmerged
				c := pr
				c.DeliveryID, c.Action, c.State, c.ReceivedAt = fmt.Sprint("close-", n), "closed", "closed", receipt()
				rows.PullRequests = append(rows.PullRequests, c)
			default:
				c := pr
				c.DeliveryID, c.Action, c.State, c.Merged, c.MergedAt, c.MergeCommitSHA, c.MergedBy, c.ReceivedAt =
					fmt.Sprint("close-", n), "closed", "closed", true, at(min), merge, "dave", receipt()
				rows.PullRequests = append(rows.PullRequests, c)
				if k == 1 { // the merge delivered again, later and edited
					again := c
					again.DeliveryID, again.Title, again.MergedAt, again.ReceivedAt = fmt.Sprint("close-again-", n), "edited", at(min+1), receipt()
					rows.PullRequests = append(rows.PullRequests, again)
				}
				if base == "release" {
					rows.Pushes = append(rows.Pushes, pushTo("refs/heads/release", merge, min))
				} else if k != 2 { // k == 2: the merge's push never arrives
					rows.Pushes = append(rows.Pushes, pushTo("refs/heads/"+branch, merge, min))
				}
			}
			switch rng.IntN(8) {
			case 0, 1: // a direct push
				rows.Pushes = append(rows.Pushes, pushTo("refs/heads/"+branch, sha(fmt.Sprint(repo, "d", n)), min+3))
			case 2: // a commit pushed twice (moved back), from two places
				d := sha(fmt.Sprint(repo, "d", n))
				rows.Pushes = append(rows.Pushes, pushTo("refs/heads/"+branch, d, min+3), pushTo("refs/heads/"+branch, d, min+4))
			case 3: // a branch created and deleted, a push to it
				created := pushTo("refs/heads/"+branch, sha(fmt.Sprint(repo, "c", n)), min+3)
				created.Created = true
				deleted := pushTo("refs/heads/"+branch, sha("0"), min+4)
				deleted.Deleted = true
				rows.Pushes = append(rows.Pushes, created, deleted, pushTo(fmt.Sprint("refs/heads/topic-", n), sha(fmt.Sprint(repo, "t", n)), min+4))
			}
		}
	}
	// Delivered out of order, in several batches, some twice.
	rng.Shuffle(len(rows.PullRequests), func(i, j int) {
		rows.PullRequests[i], rows.PullRequests[j] = rows.PullRequests[j], rows.PullRequests[i]
	})
	rng.Shuffle(len(rows.Pushes), func(i, j int) { rows.Pushes[i], rows.Pushes[j] = rows.Pushes[j], rows.Pushes[i] })
	var out []model.Batch
	for i := 0; i < 4; i++ {
		var b model.Batch
		for j := i; j < len(rows.PullRequests); j += 4 {
			b.PullRequests = append(b.PullRequests, rows.PullRequests[j])
		}
		for j := i; j < len(rows.Pushes); j += 4 {
			b.Pushes = append(b.Pushes, rows.Pushes[j])
		}
		out = append(out, b)
	}
	return append(out, out[1], out[3])
}

// TestChangesViewEqualsDerivation: the changes view, which auditors query,
// and rules/change, which the evaluator judges and bundles are found with,
// give the same population (subject, kind, repository, number, commit,
// time, actor, title, link) of an organisation with every awkward case;
// and each change's bundle finds it as the evaluator derived it.
func TestChangesViewEqualsDerivation(t *testing.T) {
	ctx := context.Background()
	s := storetest.Open(t)
	for _, b := range awkwardOrg(7) {
		if err := s.Write(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	view, err := s.Changes(ctx, store.ChangeQuery{})
	if err != nil {
		t.Fatal(err)
	}
	repos, err := s.Repos(ctx)
	if err != nil {
		t.Fatal(err)
	}
	evs, err := s.RepoEvidences(ctx, repos)
	if err != nil {
		t.Fatal(err)
	}
	var derived []store.ChangeRow
	var keys []model.ChangeKey
	byKey := map[model.ChangeKey]model.Change{}
	kinds := map[model.ChangeKind]int{}
	for _, repo := range repos {
		change.Derive(evs[repo])
		for _, c := range evs[repo].Changes {
			kinds[c.Kind]++
			row := store.ChangeRow{Kind: string(c.Kind), Repo: c.Repo, Subject: c.Subject, Number: c.Number,
				OccurredAt: store.Time(c.OccurredAt), URL: c.URL}
			k := model.ChangeKey{Repo: c.Repo, Number: c.Number}
			if c.Kind == model.KindPullRequest {
				row.SHA, row.Actor, row.Title = c.MergeCommitSHA, c.Author, c.Title
			} else {
				row.SHA, row.Actor, row.Title = c.SHA, c.Pusher, c.Messages[len(c.Messages)-1]
				k = model.ChangeKey{Repo: c.Repo, SHA: c.SHA}
			}
			derived = append(derived, row)
			keys = append(keys, k)
			byKey[k] = c
		}
	}
	slices.SortFunc(derived, func(a, b store.ChangeRow) int {
		if a.Subject < b.Subject {
			return -1
		}
		if a.Subject > b.Subject {
			return 1
		}
		return 0
	})
	if kinds[model.KindPullRequest] < 100 || kinds[model.KindDirectPush] < 20 {
		t.Fatalf("the history is not what the test means: %v", kinds)
	}
	if len(view) != len(derived) {
		t.Errorf("the view has %d changes, the derivation %d", len(view), len(derived))
	}
	for i := range min(len(view), len(derived)) {
		v, d := view[i], derived[i]
		if !time.Time(v.OccurredAt).Equal(time.Time(d.OccurredAt)) {
			t.Errorf("%s: the view says %v, the derivation %v", v.Subject, time.Time(v.OccurredAt), time.Time(d.OccurredAt))
		}
		v.OccurredAt = d.OccurredAt
		if v != d {
			t.Errorf("change %d:\n view %+v\n Go   %+v", i, v, d)
		}
	}
	rec, err := s.ChangeRecordsOf(ctx, keys)
	if err != nil {
		t.Fatal(err)
	}
	found := change.Lookup(rec, keys)
	for _, k := range keys {
		if !reflect.DeepEqual(found[k], byKey[k]) {
			t.Errorf("%+v: bundle finds\n%+v\nthe evaluator derived\n%+v", k, found[k], byKey[k])
		}
	}
}
