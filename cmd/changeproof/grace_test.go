package main

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"go.uber.org/zap"

	"github.com/changeproof/changeproof/alert/slack/slacktest"
	"github.com/changeproof/changeproof/internal/testkit/fixture"
	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/store"
	"github.com/changeproof/changeproof/store/storetest"
)

// lateWriter holds the pipeline's write of every batch that carries a
// delivery whose id starts with "late-" for delay (once per id): the
// pull_request event is accepted within the grace, but the pipeline is
// busy, so it is stored and judged only after the grace has run out on the
// wall clock.
type lateWriter struct {
	*store.Store
	delay time.Duration

	mu      sync.Mutex
	delayed map[string]bool
}

func (w *lateWriter) Write(ctx context.Context, b model.Batch) error {
	var wait bool
	w.mu.Lock()
	for _, d := range b.Deliveries {
		if strings.HasPrefix(d.DeliveryID, "late-") && !w.delayed[d.DeliveryID] {
			w.delayed[d.DeliveryID], wait = true, true
		}
	}
	w.mu.Unlock()
	if wait {
		time.Sleep(w.delay)
	}
	return w.Store.Write(ctx, b)
}

func (w *lateWriter) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.delayed)
}

var directPushSubject = regexp.MustCompile(`acme/[A-Za-z0-9._-]+@[0-9a-f]{40}`)

// TestMergePushesNeverAlertAsDirectPushes: with alerts.grace 2s and 200
// changes/s (review, merged pull request and merge push each) through real
// HTTP into a process with every role, and three merges whose pull_request
// event, accepted half a second after the push, waits 3 s in the pipeline,
// no Slack message names a merge push; a real direct push sent meanwhile
// is alerted once. Embedded (spool) and distributed (Kafka, kfake).
func TestMergePushesNeverAlertAsDirectPushes(t *testing.T) {
	if testing.Short() {
		t.Skip("sends load for seconds")
	}
	t.Run("embedded", func(t *testing.T) { testGraceUnderLoad(t, false) })
	t.Run("kafka", func(t *testing.T) { testGraceUnderLoad(t, true) })
}

func testGraceUnderLoad(t *testing.T, distributed bool) {
	sink := slacktest.New()
	defer sink.Close()
	extra := fmt.Sprintf("alerts:\n  grace: 2s\n  api_url: http://changeproof.test\n  slack:\n    webhook_url: %q\n", sink.WebhookURL())
	if distributed {
		cluster, err := kfake.NewCluster(kfake.NumBrokers(1))
		if err != nil {
			t.Fatal(err)
		}
		defer cluster.Close()
		extra += fmt.Sprintf("kafka:\n  brokers: [%q]\n  topic_prefix: \"grace.\"\n  partitions: 3\n", cluster.ListenAddrs()[0])
	}
	db := fmt.Sprintf("grace_%d", time.Now().UnixNano())
	cfg, _ := testConfigExtra(t, db, aliceIdentity+extra)
	dir, err := storetest.DataDir()
	if err != nil {
		t.Fatal(err)
	}
	a, err := newAppRoles(context.Background(), cfg, dir, zap.NewNop(), allRoles)
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	late := &lateWriter{Store: a.store, delay: 3 * time.Second, delayed: map[string]bool{}}
	a.loader.Deriver.Store = late
	a.alerts.Interval = 200 * time.Millisecond // rounds often: a grace ending early would show
	addr, err := a.start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + addr + "/webhooks/github"
	ctx := context.Background()

	const rate, seconds = 200, 4
	loadFailed := make(chan int, 1)
	go func() { loadFailed <- changeLoad(ctx, url, "bg", 20, rate, seconds*time.Second) }()

	at := time.Now().UTC().Truncate(time.Second)
	send := func(id string, d signedDelivery) {
		t.Helper()
		if code, err := post(ctx, nil, url, id, d); err != nil || code != http.StatusAccepted {
			t.Fatalf("%s: %d %v", id, code, err)
		}
	}
	var merges []string
	time.Sleep(500 * time.Millisecond)
	for k := range 3 {
		c := changeOf("acme/payments-api", 1+k, at)
		merges = append(merges, c.mergeSHA)
		send(fmt.Sprint("review-", k), c.review)
		send(fmt.Sprint("push-", k), c.push)
		time.Sleep(500 * time.Millisecond) // within the grace
		send(fmt.Sprint("late-pr-", k), c.pr)
		time.Sleep(500 * time.Millisecond)
	}
	direct := fixture.SHA("a real direct push")
	send("direct-1", signed("push", fixture.Push(fixture.PushEvent{Repo: fixture.Repo{FullName: "acme/ledger", DefaultBranch: "main"},
		Before: fixture.SHA("ledger before"), After: direct, Pusher: "mallory", PushedAt: at,
		Commits: []fixture.Commit{{SHA: direct, Message: "LED-1 hotfix", Author: "mallory", Timestamp: at}}})))
	if n := <-loadFailed; n > 0 {
		t.Fatalf("%d deliveries of the load not accepted", n)
	}
	sent := 3*rate*seconds + 3*3 + 1
	waitStored(t, a, sent)
	if late.count() != 3 {
		t.Fatalf("%d pull_request events held back, want 3", late.count())
	}

	// The real direct push alerts once its grace has passed on the
	// processing clock; by then every merge's pull_request event is judged.
	directSubject := "acme/ledger@" + direct
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(strings.Join(sink.Texts(), "\n"), directSubject) {
		if time.Now().After(deadline) {
			t.Fatalf("the real direct push %s was never alerted; messages:\n%s", directSubject, strings.Join(sink.Texts(), "\n"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(time.Second) // a few more rounds
	var wrong []string
	directAlerts := 0
	for _, text := range sink.Texts() {
		for _, s := range directPushSubject.FindAllString(alertKey(text), -1) {
			if s == directSubject {
				directAlerts++
				continue
			}
			wrong = append(wrong, s)
		}
	}
	if len(wrong) > 0 {
		t.Errorf("%d merge pushes alerted as direct pushes (late merges: %v): %v", len(wrong), merges, wrong)
	}
	if directAlerts != 1 {
		t.Errorf("the real direct push was alerted %d times, want once", directAlerts)
	}
}

// waitStored waits until the store holds n raw deliveries and everything
// stored is judged.
func waitStored(t *testing.T, a *app, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for {
		got, err := a.store.Count(ctx, "raw_deliveries")
		if err != nil {
			t.Fatal(err)
		}
		if int(got) >= n {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("%d of %d deliveries stored", got, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := a.waitIdle(ctx); err != nil {
		t.Fatal(err)
	}
}
