package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/changeproof/changeproof/alert/slack/slacktest"
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

// BenchmarkWebhookOpenLoop offers GitHub's deliveries for a stream of
// reviewed, merged pull requests at a fixed rate, open loop: per change the
// approving review, the merged pull_request event and the merge push
// (recorded payload shapes, 7-25 KB, 50 repositories), each request sent at
// its scheduled time whether or not earlier ones were answered; latency
// runs from that time to the 202 (sent once the delivery is durable), so
// queueing shows. The senders run in another process (loadgen_test.go), as
// GitHub's do. The product runs as `changeproof serve` wires it: every
// role in this process (receiver, pipeline, rules, alerts to a fake Slack).
// Next to it, in the same run, the floor: the same load against the same
// handler with a sink that returns at once (HTTP, body, HMAC and JSON
// checks, no store). Defaults 2,000 deliveries/s for 10 s;
// CHANGEPROOF_BENCH_RATE and CHANGEPROOF_BENCH_SECONDS override, and
// CHANGEPROOF_BENCH_LOADER_YIELD_MS sets how long the loader may wait for
// the receivers (pipeline.Loader.YieldMax); CHANGEPROOF_BENCH_PRIORITY=0
// runs the engine's background work at the receivers' CPU priority.
// Run: go test -run '^$' -bench WebhookOpenLoop -benchtime 1x ./cmd/changeproof
func BenchmarkWebhookOpenLoop(b *testing.B) {
	rate := envFloat("CHANGEPROOF_BENCH_RATE", 2000)
	seconds := envFloat("CHANGEPROOF_BENCH_SECONDS", 10)
	for run := 0; b.Loop(); run++ {
		b.Logf("load average before: %s", loadAvg())
		floorSrv := httptest.NewServer(&ghingest.Handler{Secret: func() string { return testSecret }, Sink: nullLog{}})
		floor, _ := loadFrom(b, loadSpec{URL: floorSrv.URL, Mode: "open", Rate: rate, Seconds: seconds / 2,
			IDPrefix: fmt.Sprintf("floor-%d-%d", run, time.Now().UnixNano())})
		floorSrv.Close()

		a, url, sink := benchServe(b)
		cpu0 := processCPU()
		t0 := time.Now()
		res, genCores := loadFrom(b, loadSpec{URL: url, Mode: "open", Rate: rate, Seconds: seconds,
			IDPrefix: fmt.Sprintf("ol-%d-%d", run, time.Now().UnixNano())})
		cores := (processCPU() - cpu0).Seconds() / time.Since(t0).Seconds()
		st := a.committer.Stats()
		lag := a.watermark.Clock()
		if res.failed > 0 {
			b.Errorf("%d of %d deliveries not accepted", res.failed, res.sent)
		}
		b.ReportMetric(res.pct(50), "p50-ms")
		b.ReportMetric(res.pct(99), "p99-ms")
		b.ReportMetric(floor.pct(99), "floor-p99-ms")
		b.ReportMetric(res.rate()/rate, "accepted/offered")
		b.Logf("offered %.0f/s for %.0f s: accepted %.0f/s (%.2f of offered), %d failed; this process used %.2f of %d cores, the senders' process %.2f",
			rate, seconds, res.rate(), res.rate()/rate, res.failed, cores, runtime.NumCPU(), genCores)
		b.Logf("latency  p50 %6.1f  p95 %6.1f  p99 %6.1f  max %6.1f ms (all roles)", res.pct(50), res.pct(95), res.pct(99), res.pct(100))
		b.Logf("floor    p50 %6.1f  p95 %6.1f  p99 %6.1f  max %6.1f ms (same load, sink returns at once)", floor.pct(50), floor.pct(95), floor.pct(99), floor.pct(100))
		if st.Batches > 0 {
			b.Logf("group commit: %d batches, %.1f deliveries each, %.1f ms per durable write, slowest %.1f ms", st.Batches,
				float64(st.Deliveries)/float64(st.Batches), float64(st.Writing.Microseconds())/float64(st.Batches)/1000,
				float64(st.Slowest.Microseconds())/1000)
		}
		b.Logf("judging lagged %.1f s behind the receiver at the end of the load; %d Slack messages", time.Since(lag).Seconds(), len(sink.Requests()))
		for i, text := range sink.Texts() {
			if i == 3 {
				break
			}
			b.Logf("  Slack: %s", alertKey(text))
		}
		b.Logf("load average after: %s", loadAvg())
	}
}

// BenchmarkWebhookAcceptRatio measures durable accepts per second, closed
// loop (64 senders in another process, each sending its next delivery once
// the last is answered), of the change mix of BenchmarkWebhookOpenLoop
// against every role in one process, and in the same run the same senders
// against the null receiver (HTTP, HMAC and JSON checks, no store); it
// reports the ratio. CHANGEPROOF_BENCH_SECONDS (default 10) sets each
// run's length.
// Run: go test -run '^$' -bench WebhookAcceptRatio -benchtime 1x ./cmd/changeproof
func BenchmarkWebhookAcceptRatio(b *testing.B) {
	seconds := envFloat("CHANGEPROOF_BENCH_SECONDS", 10)
	for run := 0; b.Loop(); run++ {
		b.Logf("load average before: %s", loadAvg())
		floorSrv := httptest.NewServer(&ghingest.Handler{Secret: func() string { return testSecret }, Sink: nullLog{}})
		null, _ := loadFrom(b, loadSpec{URL: floorSrv.URL, Mode: "closed", Senders: 64, Seconds: seconds / 2,
			IDPrefix: fmt.Sprintf("cnull-%d-%d", run, time.Now().UnixNano())})
		floorSrv.Close()
		a, url, _ := benchServe(b)
		cpu0 := processCPU()
		t0 := time.Now()
		got, genCores := loadFrom(b, loadSpec{URL: url, Mode: "closed", Senders: 64, Seconds: seconds,
			IDPrefix: fmt.Sprintf("cl-%d-%d", run, time.Now().UnixNano())})
		cores := (processCPU() - cpu0).Seconds() / time.Since(t0).Seconds()
		st := a.committer.Stats()
		if got.failed > 0 {
			b.Errorf("%d of %d deliveries not accepted", got.failed, got.sent)
		}
		b.ReportMetric(got.rate(), "accepted/s")
		b.ReportMetric(null.rate(), "null-accepted/s")
		b.ReportMetric(got.rate()/null.rate(), "ratio")
		b.Logf("closed loop, 64 senders: all roles %.0f/s (p99 %.1f ms), null receiver %.0f/s (p99 %.1f ms): ratio %.2f",
			got.rate(), got.pct(99), null.rate(), null.pct(99), got.rate()/null.rate())
		b.Logf("all roles: this process used %.2f of %d cores, the senders' process %.2f; group commit %.1f deliveries and %.1f ms per durable write, slowest %.1f ms",
			cores, runtime.NumCPU(), genCores, float64(st.Deliveries)/float64(max(st.Batches, 1)),
			float64(st.Writing.Microseconds())/float64(max(st.Batches, 1))/1000, float64(st.Slowest.Microseconds())/1000)
		b.Logf("load average after: %s", loadAvg())
	}
}

// benchPriority applies CHANGEPROOF_BENCH_PRIORITY=0: the engine's
// background work at the receivers' CPU priority, to compare with the
// priority lane (chdb.Options.BackgroundNice). The lane is per process, so
// the switch holds for the whole run.
func benchPriority(b *testing.B) {
	if os.Getenv("CHANGEPROOF_BENCH_PRIORITY") == "0" {
		backgroundNice = 0
	}
	b.Logf("engine background work at nice %d", backgroundNice)
}

// loadAvg is /proc/loadavg, to note beside each figure (the machine is
// shared: only ratios within one run carry over).
func loadAvg() string {
	out, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}

// benchServe starts every role as serve does, alerting to a fake Slack.
func benchServe(b *testing.B) (*app, string, *slacktest.Server) {
	b.Helper()
	sink := slacktest.New()
	b.Cleanup(sink.Close)
	dir, err := storetest.DataDir()
	if err != nil {
		b.Fatal(err)
	}
	extra := fmt.Sprintf("alerts:\n  slack:\n    webhook_url: %q\n", sink.WebhookURL())
	cfg, _ := testConfigExtra(&testing.T{}, fmt.Sprintf("bench_serve_%d", time.Now().UnixNano()), aliceIdentity+extra)
	a, err := newAppRoles(context.Background(), cfg, dir, zap.NewNop(), allRoles)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(a.close)
	benchPriority(b)
	if ms := envFloat("CHANGEPROOF_BENCH_LOADER_YIELD_MS", 0); ms > 0 {
		a.loader.YieldMax = time.Duration(ms * float64(time.Millisecond)) // to compare bounds
	}
	addr, err := a.start("127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	return a, "http://" + addr + "/webhooks/github", sink
}

// changeDeliveries is n changes over repos repositories (changeOf), as the
// deliveries GitHub sends for them in order: review, pull request, push.
func changeDeliveries(n, repos int) []signedDelivery {
	at := time.Now().UTC().Truncate(time.Second)
	out := make([]signedDelivery, 0, 3*n)
	for i := range n {
		c := changeOf(fmt.Sprintf("acme/svc-%d", i%repos), 1+i/repos, at)
		out = append(out, c.review, c.pr, c.push)
	}
	return out
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
