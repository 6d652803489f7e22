package main

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/changeproof/changeproof/alert/slack/slacktest"
	"github.com/changeproof/changeproof/internal/testkit/fixture"
	"github.com/changeproof/changeproof/store/storetest"
)

// BenchmarkAlertLatency sends a steady 200 deliveries/s for 10 s, every
// one the merge of a self-approved PR (a CM-2 fail), and measures the time
// from the 202 to the Slack POST that names its subject.
// Run: go test -run '^$' -bench AlertLatency -benchtime 1x ./cmd/changeproof
func BenchmarkAlertLatency(b *testing.B) {
	sink := slacktest.New()
	defer sink.Close()
	dir, err := storetest.DataDir()
	if err != nil {
		b.Fatal(err)
	}
	cfg, _ := testConfig(&testing.T{}, fmt.Sprintf("bench_alerts_%d", time.Now().UnixNano()))
	cfg.Policy.RequireTicket = false
	cfg.Alerts.Slack.WebhookURL = sink.WebhookURL()
	benchPriority(b)
	b.Logf("load average before: %s", loadAvg())
	defer func() { b.Logf("load average after: %s", loadAvg()) }()
	a, err := newApp(context.Background(), cfg, dir, zap.NewNop())
	if err != nil {
		b.Fatal(err)
	}
	defer a.close()
	addr, err := a.start("127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	url := "http://" + addr + "/webhooks/github"
	repo := fixture.Repo{FullName: "acme/payments-api", DefaultBranch: "main"}
	const rate, seconds = 200, 10
	for i := 0; b.Loop(); i++ {
		var mu sync.Mutex
		accepted := map[string]time.Time{}
		tick := time.NewTicker(time.Second / rate)
		var wg sync.WaitGroup
		for n := 0; n < rate*seconds; n++ {
			<-tick.C
			num := i*100000 + n + 1
			wg.Add(1)
			go func() {
				defer wg.Done()
				at := time.Now().UTC().Truncate(time.Second)
				pr := fixture.PR{Repo: repo, Number: num, Author: "alice", MergedBy: "alice", Title: "change", HeadRef: "x",
					HeadSHA: fixture.SHA(fmt.Sprint("lh", num)), MergeCommitSHA: fixture.SHA(fmt.Sprint("lm", num)), Merged: true, MergedAt: at, ClosedAt: at}
				d := fixture.Delivery{Event: "pull_request", ID: fmt.Sprintf("alat-%d-%d", i, num), Body: fixture.PullRequest("closed", pr)}
				code, err := fixture.Post(context.Background(), http.DefaultClient, url, testSecret, d)
				if err != nil || code != http.StatusAccepted {
					b.Errorf("%d %v", code, err)
					return
				}
				mu.Lock()
				accepted[fmt.Sprintf("acme/payments-api#%d ", num)] = time.Now()
				mu.Unlock()
			}()
		}
		tick.Stop()
		wg.Wait()
		// Collect the POST times of the alerts about these subjects.
		var lat []time.Duration
		deadline := time.Now().Add(60 * time.Second)
		for time.Now().Before(deadline) {
			lat = lat[:0]
			for _, r := range sink.Delivered() {
				first, _, _ := strings.Cut(r.Message.Text, "\n")
				_, rest, ok := strings.Cut(first, "failed: ")
				if !ok {
					continue
				}
				subject, _, _ := strings.Cut(rest, "(")
				if t0, ok := accepted[subject]; ok {
					lat = append(lat, r.At.Sub(t0))
				}
			}
			if len(lat) >= rate*seconds {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		if len(lat) < rate*seconds {
			b.Fatalf("%d of %d alerts arrived", len(lat), rate*seconds)
		}
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		b.ReportMetric(float64(lat[len(lat)/2].Milliseconds()), "p50-ms")
		b.ReportMetric(float64(lat[len(lat)*95/100].Milliseconds()), "p95-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Milliseconds()), "p99-ms")
	}
}
