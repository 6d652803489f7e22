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
// queueing shows. The product runs as `changeproof serve` wires it: every
// role in this process (receiver, pipeline, rules, alerts to a fake Slack).
// Next to it, in the same run, the floor: the same load against the same
// handler with a sink that returns at once (HTTP, body, HMAC and JSON
// checks, no store). Defaults 2,000 deliveries/s for 10 s;
// CHANGEPROOF_BENCH_RATE and CHANGEPROOF_BENCH_SECONDS override, and
// CHANGEPROOF_BENCH_LOADER_YIELD_MS sets how long the loader may wait for
// the receivers (pipeline.Loader.YieldMax).
// Run: go test -run '^$' -bench WebhookOpenLoop -benchtime 1x ./cmd/changeproof
func BenchmarkWebhookOpenLoop(b *testing.B) {
	rate := envFloat("CHANGEPROOF_BENCH_RATE", 2000)
	seconds := envFloat("CHANGEPROOF_BENCH_SECONDS", 10)
	bodies := changeDeliveries(1200, 50)
	for run := 0; b.Loop(); run++ {
		floorSrv := httptest.NewServer(&ghingest.Handler{Secret: func() string { return testSecret }, Sink: nullLog{}})
		floor := openLoop(b, floorSrv.URL, bodies, fmt.Sprintf("floor-%d-%d", run, time.Now().UnixNano()), rate, seconds/2)
		floorSrv.Close()

		a, url, sink := benchServe(b)
		cpu0 := processCPU()
		res := openLoop(b, url, bodies, fmt.Sprintf("ol-%d-%d", run, time.Now().UnixNano()), rate, seconds)
		cores := (processCPU() - cpu0).Seconds() / res.elapsed.Seconds()
		st := a.committer.Stats()
		lag := a.watermark.Clock()
		if res.failed > 0 {
			b.Errorf("%d of %d deliveries not accepted", res.failed, res.sent)
		}
		b.ReportMetric(res.pct(50), "p50-ms")
		b.ReportMetric(res.pct(99), "p99-ms")
		b.ReportMetric(floor.pct(99), "floor-p99-ms")
		b.ReportMetric(res.rate()/rate, "accepted/offered")
		b.Logf("offered %.0f/s for %.0f s: accepted %.0f/s (%.2f of offered), %d failed; process used %.2f of %d cores",
			rate, seconds, res.rate(), res.rate()/rate, res.failed, cores, runtime.NumCPU())
		b.Logf("latency  p50 %6.1f  p95 %6.1f  p99 %6.1f  max %6.1f ms (all roles)", res.pct(50), res.pct(95), res.pct(99), res.pct(100))
		b.Logf("floor    p50 %6.1f  p95 %6.1f  p99 %6.1f  max %6.1f ms (same load, sink returns at once)", floor.pct(50), floor.pct(95), floor.pct(99), floor.pct(100))
		if st.Batches > 0 {
			b.Logf("group commit: %d batches, %.1f deliveries each, %.1f ms per durable write", st.Batches,
				float64(st.Deliveries)/float64(st.Batches), float64(st.Writing.Microseconds())/float64(st.Batches)/1000)
		}
		b.Logf("judging lagged %.1f s behind the receiver at the end of the load; %d Slack messages", time.Since(lag).Seconds(), len(sink.Requests()))
		for i, text := range sink.Texts() {
			if i == 3 {
				break
			}
			b.Logf("  Slack: %s", alertKey(text))
		}
	}
}

// BenchmarkWebhookAcceptRatio measures durable accepts per second, closed
// loop (64 senders, each sending its next delivery once the last is
// answered), of the change mix of BenchmarkWebhookOpenLoop against every
// role in one process, and in the same run the same senders against the
// null receiver (HTTP, HMAC and JSON checks, no store); it reports the
// ratio. CHANGEPROOF_BENCH_SECONDS (default 10) sets each run's length.
// Run: go test -run '^$' -bench WebhookAcceptRatio -benchtime 1x ./cmd/changeproof
func BenchmarkWebhookAcceptRatio(b *testing.B) {
	seconds := envFloat("CHANGEPROOF_BENCH_SECONDS", 10)
	bodies := changeDeliveries(1200, 50)
	for run := 0; b.Loop(); run++ {
		floorSrv := httptest.NewServer(&ghingest.Handler{Secret: func() string { return testSecret }, Sink: nullLog{}})
		null := closedLoop(b, floorSrv.URL, bodies, fmt.Sprintf("cnull-%d-%d", run, time.Now().UnixNano()), 64, seconds/2)
		floorSrv.Close()
		_, url, _ := benchServe(b)
		got := closedLoop(b, url, bodies, fmt.Sprintf("cl-%d-%d", run, time.Now().UnixNano()), 64, seconds)
		if got.failed > 0 {
			b.Errorf("%d of %d deliveries not accepted", got.failed, got.sent)
		}
		b.ReportMetric(got.rate(), "accepted/s")
		b.ReportMetric(null.rate(), "null-accepted/s")
		b.ReportMetric(got.rate()/null.rate(), "ratio")
		b.Logf("closed loop, 64 senders: all roles %.0f/s (p99 %.1f ms), null receiver %.0f/s (p99 %.1f ms): ratio %.2f",
			got.rate(), got.pct(99), null.rate(), null.pct(99), got.rate()/null.rate())
	}
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

// signedDelivery is a delivery with its signature computed beforehand, so
// the sender spends no time on it.
type signedDelivery struct {
	event string
	body  []byte
	sig   string
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

// closedLoop runs senders that each send their next delivery (cycling
// through ds with fresh ids) as soon as the last is answered, for seconds.
func closedLoop(b *testing.B, url string, ds []signedDelivery, idPrefix string, senders int, seconds float64) loopResult {
	b.Helper()
	client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConns: senders,
		MaxIdleConnsPerHost: senders, DisableCompression: true}}
	defer client.CloseIdleConnections()
	var next atomic.Int64
	var mu sync.Mutex
	var res loopResult
	start := time.Now()
	stop := start.Add(time.Duration(seconds * float64(time.Second)))
	var wg sync.WaitGroup
	for range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lat []time.Duration
			failed := 0
			for time.Now().Before(stop) {
				i := int(next.Add(1))
				d := ds[i%len(ds)]
				t0 := time.Now()
				code, err := post(context.Background(), client, url, fmt.Sprintf("%s-%d", idPrefix, i), d)
				if err != nil || code != http.StatusAccepted {
					failed++
					continue
				}
				lat = append(lat, time.Since(t0))
			}
			mu.Lock()
			res.lat = append(res.lat, lat...)
			res.failed += failed
			res.sent += len(lat) + failed
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	sort.Slice(res.lat, func(i, j int) bool { return res.lat[i] < res.lat[j] })
	return res
}
