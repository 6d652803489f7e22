package main

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/changeproof/changeproof/internal/testkit/fixture"
)

// change is what GitHub sends for one reviewed, merged pull request: the
// approving review, the pull_request "closed" event (merged) and the push
// of the merge commit to the default branch, in the real payload shapes
// (internal/testkit/fixture), about 25 KB together. mergeSHA names the
// push's subject (OWNER/REPO@<sha>), which is provisionally a direct push
// until the pull_request event is judged.
type change struct {
	review, pr, push signedDelivery
	repo, mergeSHA   string
}

// changeOf builds change n of repo (n > 0), merged at at by bob, authored by
// alice, approved by carol; the ticket in the title satisfies require_ticket.
func changeOf(repo string, n int, at time.Time) change {
	r := fixture.Repo{FullName: repo, DefaultBranch: "main"}
	merge := fixture.SHA(fmt.Sprint(repo, " merge ", n))
	pr := fixture.PR{Repo: r, Number: n, Author: "alice", MergedBy: "bob", Title: fmt.Sprintf("PAY-%d change", n),
		HeadRef: fmt.Sprintf("feature-%d", n), HeadSHA: fixture.SHA(fmt.Sprint(repo, " head ", n)), MergeCommitSHA: merge,
		Merged: true, CreatedAt: at.Add(-time.Hour), MergedAt: at, ClosedAt: at}
	c := change{repo: repo, mergeSHA: merge}
	c.review = signed("pull_request_review", fixture.PullRequestReview("submitted",
		fixture.ReviewEvent{PR: pr, Reviewer: "carol", State: "approved", SubmittedAt: at.Add(-time.Minute)}))
	c.pr = signed("pull_request", fixture.PullRequest("closed", pr))
	// A merge push carries the pull request's commits, then the merge.
	var commits []fixture.Commit
	for j := range 1 + n%8 {
		commits = append(commits, fixture.Commit{SHA: fixture.SHA(fmt.Sprint(repo, " commit ", n, " ", j)),
			Message: fmt.Sprintf("PAY-%d part %d", n, j), Author: "alice", Timestamp: at.Add(-time.Hour)})
	}
	commits = append(commits, fixture.Commit{SHA: merge, Message: fmt.Sprintf("Merge pull request #%d from acme/feature-%d\n\nPAY-%d change", n, n, n),
		Author: "bob", Timestamp: at})
	c.push = signed("push", fixture.Push(fixture.PushEvent{Repo: r, Before: fixture.SHA(fmt.Sprint(repo, " merge ", n-1)),
		After: merge, Pusher: "bob", PushedAt: at, Commits: commits}))
	return c
}

func signed(event string, body []byte) signedDelivery {
	return signedDelivery{event: event, body: body, sig: fixture.Sign(testSecret, body)}
}

// post sends d with delivery id id and returns the status.
func post(ctx context.Context, c *http.Client, url, id string, d signedDelivery) (int, error) {
	return fixture.Post(ctx, c, url, testSecret, fixture.Delivery{Event: d.event, ID: id, Body: d.body})
}

// changeLoad sends changes at rate per second for the given time (open
// loop: each change's three deliveries go at its scheduled time, review,
// pull request, push, in order on one connection) and returns how many
// deliveries were not accepted.
func changeLoad(ctx context.Context, url, idPrefix string, repos int, rate float64, d time.Duration) (failed int) {
	client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256, DisableCompression: true}}
	defer client.CloseIdleConnections()
	n := int(rate * d.Seconds())
	at := time.Now().UTC().Truncate(time.Second)
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < n; i++ {
		if wait := time.Until(start.Add(time.Duration(float64(i) / rate * float64(time.Second)))); wait > 0 {
			time.Sleep(wait)
		}
		c := changeOf(fmt.Sprintf("acme/svc-%d", i%repos), 1+i/repos, at)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k, d := range []signedDelivery{c.review, c.pr, c.push} {
				if code, err := post(ctx, client, url, fmt.Sprintf("%s-%d-%d", idPrefix, i, k), d); err != nil || code != http.StatusAccepted {
					mu.Lock()
					failed++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	return failed
}
