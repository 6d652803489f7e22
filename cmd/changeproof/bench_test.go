package main

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/changeproof/changeproof/internal/fixture"
	"github.com/changeproof/changeproof/store"
	"github.com/changeproof/changeproof/store/storetest"
)

func benchApp(b *testing.B, database string) (*app, string) {
	b.Helper()
	dir, err := storetest.DataDir()
	if err != nil {
		b.Fatal(err)
	}
	cfg, _ := testConfig(&testing.T{}, database)
	cfg.ClickHouse.Database = database
	a, err := newApp(context.Background(), cfg, dir, zap.NewNop())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(a.close)
	addr, err := a.start("127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	return a, "http://" + addr + "/webhooks/github"
}

// BenchmarkWebhookAccept measures signed push deliveries accepted (202,
// durable) per second by 32 concurrent senders, with accept latency
// percentiles. Run: go test -run ^$ -bench WebhookAccept ./cmd/changeproof
func BenchmarkWebhookAccept(b *testing.B) {
	_, url := benchApp(b, fmt.Sprintf("bench_accept_%d", time.Now().UnixNano()))
	repo := fixture.Repo{FullName: "acme/payments-api", DefaultBranch: "main"}
	var seq atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.SetParallelism(16) // 2 cores x 16 = 32 senders
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := seq.Add(1)
			after := fixture.SHA(fmt.Sprint("bench", n))
			d := fixture.Delivery{Event: "push", ID: fmt.Sprintf("bench-%d-%d", time.Now().UnixNano(), n),
				Body: fixture.Push(fixture.PushEvent{Repo: repo, Before: fixture.SHA(fmt.Sprint("bench", n-1)), After: after,
					Pusher: "bob", PushedAt: time.Now(), Commits: []fixture.Commit{{SHA: after, Message: "PAY-1 change", Author: "bob", Timestamp: time.Now()}}})}
			start := time.Now()
			code, err := fixture.Post(context.Background(), client, url, testSecret, d)
			if err != nil || code != http.StatusAccepted {
				b.Errorf("status %d, %v", code, err)
				return
			}
			el := time.Since(start)
			mu.Lock()
			lat = append(lat, el)
			mu.Unlock()
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	}
}

// BenchmarkDeliveryToFinding measures the time from a merged pull request's
// delivery being accepted to its CM-1 finding being queryable.
func BenchmarkDeliveryToFinding(b *testing.B) {
	a, url := benchApp(b, fmt.Sprintf("bench_latency_%d", time.Now().UnixNano()))
	repo := fixture.Repo{FullName: "acme/payments-api", DefaultBranch: "main"}
	ctx := context.Background()
	var lat []time.Duration
	for i := 0; b.Loop(); i++ {
		n := 1000 + i
		at := time.Now().UTC().Truncate(time.Second)
		pr := fixture.PR{Repo: repo, Number: n, Author: "alice", MergedBy: "bob", Title: "PAY-1", HeadRef: "x",
			HeadSHA: fixture.SHA(fmt.Sprint("h", n)), MergeCommitSHA: fixture.SHA(fmt.Sprint("m", n)), Merged: true, MergedAt: at, ClosedAt: at}
		d := fixture.Delivery{Event: "pull_request", ID: fmt.Sprintf("lat-%d-%d", time.Now().UnixNano(), n), Body: fixture.PullRequest("closed", pr)}
		if code, err := fixture.Post(ctx, http.DefaultClient, url, testSecret, d); err != nil || code != http.StatusAccepted {
			b.Fatalf("status %d, %v", code, err)
		}
		accepted := time.Now()
		subject := fmt.Sprintf("acme/payments-api#%d", n)
		for {
			fs, err := a.store.Findings(ctx, store.FindingQuery{Rule: "CM-1", Subject: subject})
			if err != nil {
				b.Fatal(err)
			}
			if len(fs) == 1 {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		lat = append(lat, time.Since(accepted))
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Milliseconds()), "p50-ms")
	b.ReportMetric(float64(lat[len(lat)-1].Milliseconds()), "max-ms")
}
