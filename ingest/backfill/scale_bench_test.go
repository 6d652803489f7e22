package backfill_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/changeproof/changeproof/ingest/backfill"
	"github.com/changeproof/changeproof/internal/testkit/githubfake"
	"github.com/changeproof/changeproof/model"
)

// benchRepos is how many repositories BenchmarkBackfillOrg backfills and
// reconciles (go test ... -args -backfill.repos=N).
var benchRepos = flag.Int("backfill.repos", 1000, "repositories of BenchmarkBackfillOrg")

// BenchmarkBackfillOrg backfills an organisation of -backfill.repos
// repositories (default 1,000; each 12 merged pull requests with reviews,
// direct pushes, protection and rulesets) from the GitHub-compatible fake
// through the public entry point, then reconciles them once (the same
// history again: conditional requests). It reports requests, wall time,
// requests/s and peak memory (VmHWM, reset before each phase, and the Go
// heap's peak), next to the raw limit measured in the same run: the fake's
// own serving rate of the same kinds of requests to a trivial client with
// the same concurrency.
// Run: go test -run '^$' -bench BackfillOrg -benchtime 1x ./ingest/backfill
func BenchmarkBackfillOrg(b *testing.B) {
	n := *benchRepos
	repos := make([]*githubfake.Repo, n)
	names := make([]string, n)
	for i := range repos {
		names[i] = fmt.Sprintf("acme/svc-%04d", i)
		repos[i] = githubfake.Scenario(names[i], 12, 5)
	}
	srv := githubfake.New(b, repos...)
	// The backfill talks to the fake through a recorder, so the raw limit
	// can replay its very requests, GraphQL bodies included.
	rec := &recorder{h: srv}
	front := httptest.NewServer(rec)
	defer front.Close()
	ctx := context.Background()
	const concurrency = 4 // backfill's default
	for b.Loop() {
		var written atomic.Int64
		sink := backfill.SinkFunc(func(_ context.Context, bt model.Batch) error {
			written.Add(int64(len(bt.PullRequests) + len(bt.Reviews) + len(bt.Pushes)))
			return nil
		})
		st := newDiskState(b)
		o := backfill.Options{BaseURL: front.URL + "/", Token: githubfake.Token, Since: githubfake.Since, Concurrency: concurrency}
		before := srv.Total()
		peak := watchMemory()
		start := time.Now()
		stats, err := backfill.Run(ctx, o, st, sink, names)
		wall := time.Since(start)
		hwm, heap, base := peak()
		if err != nil {
			b.Fatal(err)
		}
		reqs := srv.Total() - before
		if stats.Repos != n {
			b.Fatalf("backfill finished %d of %d repositories", stats.Repos, n)
		}
		// Raw limit, same run: the fake serving the very requests the
		// backfill made (a sample of up to 2,000, unconditional) to a
		// trivial client with the same concurrency.
		raw := rawRate(b, srv.URL, rec.sample(2000), concurrency)

		rc := &backfill.Reconciler{Options: o, State: st, Sink: sink,
			Repos: func(context.Context) ([]string, error) { return names, nil },
			Known: func(_ context.Context, _ string, ns []int) (map[int]bool, error) {
				k := map[int]bool{}
				for _, x := range ns {
					k[x] = true
				}
				return k, nil
			}}
		before, nm := srv.Total(), srv.Total()-srv.NonNotModified()
		peak = watchMemory()
		start = time.Now()
		if _, err := rc.Round(ctx, githubfake.Since); err != nil {
			b.Fatal(err)
		}
		rwall := time.Since(start)
		rhwm, rheap, rbase := peak()
		rreqs := srv.Total() - before
		notModified := srv.Total() - srv.NonNotModified() - nm

		b.ReportMetric(float64(reqs), "requests")
		b.ReportMetric(wall.Seconds(), "backfill-s")
		b.ReportMetric(float64(reqs)/wall.Seconds()/raw, "x-raw")
		b.ReportMetric(float64(hwm)/(1<<20), "peak-MiB")
		b.ReportMetric(rwall.Seconds(), "reconcile-s")
		b.Logf("backfill of %d repositories: %d requests in %.1f s (%.0f/s = %.2f of the fake's raw %.0f/s with %d clients), %d PRs, %d records; peak RSS %d MiB (%d MiB at the start, the fake's history included), Go heap peak %d MiB",
			n, reqs, wall.Seconds(), float64(reqs)/wall.Seconds(), float64(reqs)/wall.Seconds()/raw, raw, concurrency,
			stats.PRs, written.Load(), hwm>>20, base>>20, heap>>20)
		b.Logf("backfill stats: %+v", stats)
		b.Logf("reconciliation round: %d requests (%d answered 304) in %.1f s (%.0f/s); peak RSS %d MiB (%d at the start), Go heap peak %d MiB",
			rreqs, notModified, rwall.Seconds(), float64(rreqs)/rwall.Seconds(), rhwm>>20, rbase>>20, rheap>>20)
	}
}

// diskState is a State that keeps the ETag cache's bodies in files, as
// the store keeps them outside the process in production (MemState would
// hold every response body in the heap and the memory figure would be
// the cache's, not the backfill's).
type diskState struct {
	dir     string
	mu      sync.Mutex
	etags   map[string]string // url -> etag; the body is in dir/<sha256(url)>
	cursors backfill.MemState
}

func newDiskState(b *testing.B) *diskState {
	return &diskState{dir: b.TempDir(), etags: map[string]string{}}
}

func (d *diskState) file(url string) string {
	sum := sha256.Sum256([]byte(url))
	return filepath.Join(d.dir, hex.EncodeToString(sum[:]))
}

func (d *diskState) ETag(_ context.Context, url string) (string, []byte, bool, error) {
	d.mu.Lock()
	etag, ok := d.etags[url]
	d.mu.Unlock()
	if !ok {
		return "", nil, false, nil
	}
	body, err := os.ReadFile(d.file(url))
	return etag, body, err == nil, err
}

func (d *diskState) PutETag(_ context.Context, url, etag string, body []byte) error {
	if err := os.WriteFile(d.file(url), body, 0o600); err != nil {
		return err
	}
	d.mu.Lock()
	d.etags[url] = etag
	d.mu.Unlock()
	return nil
}

func (d *diskState) Cursor(ctx context.Context, repo string) (backfill.Cursor, bool, error) {
	return d.cursors.Cursor(ctx, repo)
}

func (d *diskState) PutCursor(ctx context.Context, repo string, c backfill.Cursor) error {
	return d.cursors.PutCursor(ctx, repo, c)
}

// recorder records each request (method, URI, body) and hands it to h.
type recorder struct {
	h  http.Handler
	mu sync.Mutex
	rs []recorded
}

type recorded struct {
	method, uri string
	body        []byte
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.rs = append(r.rs, recorded{req.Method, req.URL.RequestURI(), body})
	r.mu.Unlock()
	req.Body = io.NopCloser(bytes.NewReader(body))
	r.h.ServeHTTP(w, req)
}

// sample returns up to n recorded requests, evenly spread, and forgets
// them all.
func (r *recorder) sample(n int) []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	step := max(1, len(r.rs)/n)
	var out []recorded
	for i := 0; i < len(r.rs); i += step {
		out = append(out, r.rs[i])
	}
	r.rs = nil
	return out
}

// rawRate is how many requests/s the fake answers a trivial client
// (the same method, URI and body; no If-None-Match; body discarded) with
// the given concurrency, sending each request once.
func rawRate(b *testing.B, base string, reqs []recorded, concurrency int) float64 {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: concurrency}}
	defer client.CloseIdleConnections()
	var next, done atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(reqs) {
					return
				}
				r := reqs[i]
				req, _ := http.NewRequest(r.method, base+r.uri, bytes.NewReader(r.body))
				req.Header.Set("Authorization", "Bearer "+githubfake.Token)
				if len(r.body) > 0 {
					req.Header.Set("Content-Type", "application/json")
				}
				resp, err := client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	return float64(done.Load()) / time.Since(start).Seconds()
}

// watchMemory resets the process's peak RSS (VmHWM) and samples the Go
// heap until the returned function is called, which returns both peaks
// and the resident set at the start (the fake's own history is in it).
func watchMemory() func() (hwm, heap, base uint64) {
	runtime.GC()
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) // Linux: reset VmHWM
	base := vmRSS()
	stop := make(chan struct{})
	var peak atomic.Uint64
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(sample)
			if v := sample[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	return func() (uint64, uint64, uint64) {
		close(stop)
		wg.Wait()
		return vmHWM(), peak.Load(), base
	}
}

// vmHWM reads the process's peak resident set from /proc/self/status.
func vmHWM() uint64 { return procStatus("VmHWM:") }

// vmRSS reads the process's resident set from /proc/self/status.
func vmRSS() uint64 { return procStatus("VmRSS:") }

func procStatus(field string) uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}
