package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"

	ghingest "github.com/changeproof/changeproof/ingest/github"
	"github.com/changeproof/changeproof/internal/testkit/fixture"
	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/store"
	"github.com/changeproof/changeproof/store/storetest"
)

func benchApp(b *testing.B, database string) (*app, string) {
	b.Helper()
	return benchAppRoles(b, database, allRoles)
}

func benchAppRoles(b *testing.B, database string, r roles) (*app, string) {
	b.Helper()
	dir, err := storetest.DataDir()
	if err != nil {
		b.Fatal(err)
	}
	cfg, _ := testConfig(&testing.T{}, database)
	cfg.ClickHouse.Database = database
	a, err := newAppRoles(context.Background(), cfg, dir, zap.NewNop(), r)
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

// BenchmarkWebhookOpenLoop offers signed GitHub deliveries (push,
// pull_request, pull_request_review of 5-30 KB over 10 repositories) at a
// fixed rate, open loop: each request is sent at its scheduled time whether
// or not earlier ones were answered, and its latency runs from that time to
// the 202 (which the receiver sends only once the delivery is durable), so
// queueing shows. It reports p50/p95/p99/max and the accepted rate, next to
// the floor measured in the same run: the same load against the same
// handler whose sink returns at once (HTTP, body, HMAC and JSON checks,
// no store). Defaults 2,000/s for 10 s; CHANGEPROOF_BENCH_RATE and
// CHANGEPROOF_BENCH_SECONDS override.
// Run: go test -run '^$' -bench WebhookOpenLoop -benchtime 1x ./cmd/changeproof
func BenchmarkWebhookOpenLoop(b *testing.B) {
	// serve: every role, as `changeproof serve` runs, rules re-judging
	// the touched repositories after each batch; ingest: the receiver and
	// the pipeline alone (what the 202 waits for), rules elsewhere.
	b.Run("serve", func(b *testing.B) { benchOpenLoop(b, allRoles) })
	b.Run("ingest", func(b *testing.B) { benchOpenLoop(b, roles{receiver: true, pipeline: true, api: true}) })
}

func benchOpenLoop(b *testing.B, r roles) {
	rate := envFloat("CHANGEPROOF_BENCH_RATE", 2000)
	seconds := envFloat("CHANGEPROOF_BENCH_SECONDS", 10)
	bodies := mixedDeliveries(4000)
	for run := 0; b.Loop(); run++ {
		floorSrv := httptest.NewServer(&ghingest.Handler{Secret: func() string { return testSecret },
			Sink: nullLog{}})
		floor := openLoop(b, floorSrv.URL, bodies, fmt.Sprintf("floor-%d-%d", run, time.Now().UnixNano()), rate, seconds/2)
		floorSrv.Close()

		a, url := benchAppRoles(b, fmt.Sprintf("bench_openloop_%d", time.Now().UnixNano()), r)
		cpu0 := processCPU()
		res := openLoop(b, url, bodies, fmt.Sprintf("ol-%d-%d", run, time.Now().UnixNano()), rate, seconds)
		cores := (processCPU() - cpu0).Seconds() / res.elapsed.Seconds()
		st := a.committer.Stats()
		if res.failed > 0 {
			b.Errorf("%d of %d deliveries not accepted", res.failed, res.sent)
		}
		b.ReportMetric(res.pct(50), "p50-ms")
		b.ReportMetric(res.pct(95), "p95-ms")
		b.ReportMetric(res.pct(99), "p99-ms")
		b.ReportMetric(res.rate(), "accepted/s")
		b.ReportMetric(floor.pct(99), "floor-p99-ms")
		b.ReportMetric(res.rate()/rate, "accepted/offered")
		b.Logf("offered %.0f/s for %.0f s: accepted %.0f/s (%.2f of offered), %d failed; process used %.2f of %d cores",
			rate, seconds, res.rate(), res.rate()/rate, res.failed, cores, runtime.NumCPU())
		b.Logf("latency  p50 %6.1f  p95 %6.1f  p99 %6.1f  max %6.1f ms", res.pct(50), res.pct(95), res.pct(99), res.pct(100))
		b.Logf("floor    p50 %6.1f  p95 %6.1f  p99 %6.1f  max %6.1f ms (same load, sink returns at once)", floor.pct(50), floor.pct(95), floor.pct(99), floor.pct(100))
		if st.Batches > 0 {
			b.Logf("group commit: %d batches, %.1f deliveries each, %.1f ms per durable write", st.Batches,
				float64(st.Deliveries)/float64(st.Batches), float64(st.Writing.Microseconds())/float64(st.Batches)/1000)
		}
	}
}

// nullLog accepts everything at once: the receiver's floor (HTTP, HMAC,
// JSON check) without a durable log.
type nullLog struct{}

func (nullLog) Append(context.Context, []model.Delivery) ([]error, error) { return nil, nil }

// processCPU is the CPU time the process has used (every thread: senders,
// receiver, pipeline, rules and the engine).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func envFloat(name string, def float64) float64 {
	if v, err := strconv.ParseFloat(os.Getenv(name), 64); err == nil && v > 0 {
		return v
	}
	return def
}

// signedDelivery is a delivery with its signature computed beforehand, so
// the sender spends no time on it.
type signedDelivery struct {
	event string
	body  []byte
	sig   string
}

// mixedDeliveries are n distinct deliveries over 10 repositories: a third
// each of default-branch pushes (5-29 commits), merged pull requests and
// approving reviews.
func mixedDeliveries(n int) []signedDelivery {
	at := time.Now().UTC().Truncate(time.Second)
	out := make([]signedDelivery, n)
	for i := range out {
		repo := fixture.Repo{FullName: fmt.Sprintf("acme/svc-%d", i%10), DefaultBranch: "main"}
		num := 1 + i/3
		pr := fixture.PR{Repo: repo, Number: num, Author: "alice", MergedBy: "bob", Title: fmt.Sprintf("PAY-%d change", num),
			HeadRef: fmt.Sprintf("f-%d", num), HeadSHA: fixture.SHA(fmt.Sprint("h", num)), MergeCommitSHA: fixture.SHA(fmt.Sprint("m", num)),
			Merged: true, MergedAt: at, ClosedAt: at}
		var d signedDelivery
		switch i % 3 {
		case 0:
			var commits []fixture.Commit
			for c := 0; c < 5+i%25; c++ {
				commits = append(commits, fixture.Commit{SHA: fixture.SHA(fmt.Sprint(i, c)), Message: "PAY-1 a change", Author: "bob", Timestamp: at})
			}
			d = signedDelivery{event: "push", body: fixture.Push(fixture.PushEvent{Repo: repo, Before: fixture.SHA(fmt.Sprint("b", i)),
				After: fixture.SHA(fmt.Sprint(i, "after")), Pusher: "bob", PushedAt: at, Commits: commits})}
		case 1:
			d = signedDelivery{event: "pull_request", body: fixture.PullRequest("closed", pr)}
		default:
			d = signedDelivery{event: "pull_request_review", body: fixture.PullRequestReview("submitted",
				fixture.ReviewEvent{PR: pr, Reviewer: "carol", State: "approved", SubmittedAt: at.Add(-time.Minute)})}
		}
		d.sig = fixture.Sign(testSecret, d.body)
		out[i] = d
	}
	return out
}

type loopResult struct {
	lat          []time.Duration // sorted, accepted requests only
	sent, failed int
	elapsed      time.Duration // first scheduled send to last answer
}

func (r loopResult) pct(p int) float64 {
	if len(r.lat) == 0 {
		return 0
	}
	i := min(len(r.lat)-1, len(r.lat)*p/100)
	return float64(r.lat[i].Microseconds()) / 1000
}

func (r loopResult) rate() float64 { return float64(len(r.lat)) / r.elapsed.Seconds() }

// openLoop sends rate*seconds deliveries, the i-th at start + i/rate,
// cycling through ds with fresh delivery ids.
func openLoop(b *testing.B, url string, ds []signedDelivery, idPrefix string, rate, seconds float64) loopResult {
	b.Helper()
	n := int(rate * seconds)
	// At most 1,000 connections, as a sender's pool would hold: a request
	// past them waits for one, and that wait counts in its latency.
	client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConns: 1000,
		MaxIdleConnsPerHost: 1000, MaxConnsPerHost: 1000, DisableCompression: true}}
	defer client.CloseIdleConnections()
	lat := make([]time.Duration, n)
	ok := make([]bool, n)
	var last atomic.Int64
	var wg sync.WaitGroup
	start := time.Now().Add(20 * time.Millisecond)
	interval := float64(time.Second) / rate
	for i := 0; i < n; i++ {
		due := start.Add(time.Duration(float64(i) * interval))
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := ds[i%len(ds)]
			req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(d.body))
			if err != nil {
				return
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-GitHub-Event", d.event)
			req.Header.Set("X-GitHub-Delivery", fmt.Sprintf("%s-%d", idPrefix, i))
			req.Header.Set("X-Hub-Signature-256", d.sig)
			resp, err := client.Do(req)
			if err != nil {
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			now := time.Now()
			if resp.StatusCode == http.StatusAccepted {
				lat[i], ok[i] = now.Sub(due), true
			}
			for {
				l := last.Load()
				if now.UnixNano() <= l || last.CompareAndSwap(l, now.UnixNano()) {
					break
				}
			}
		}()
	}
	wg.Wait()
	res := loopResult{sent: n, elapsed: time.Unix(0, last.Load()).Sub(start)}
	for i := range lat {
		if ok[i] {
			res.lat = append(res.lat, lat[i])
		} else {
			res.failed++
		}
	}
	sort.Slice(res.lat, func(i, j int) bool { return res.lat[i] < res.lat[j] })
	return res
}
