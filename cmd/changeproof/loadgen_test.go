package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The receiver benchmarks load the product from another process, as GitHub
// does: senders in the benchmark's own process would compete with the
// receiver for the Go scheduler and its garbage collector, which no real
// sender does. The test binary re-runs itself as the load generator
// (TestMain calls runLoadGen when CHANGEPROOF_LOADGEN holds a loadSpec).

// loadSpec is what the load generator process is asked to send.
type loadSpec struct {
	URL      string  `json:"url"`
	Mode     string  `json:"mode"` // "open": Rate per second; "closed": Senders in a loop
	Rate     float64 `json:"rate,omitempty"`
	Senders  int     `json:"senders,omitempty"`
	Seconds  float64 `json:"seconds"`
	IDPrefix string  `json:"id_prefix"`
	Changes  int     `json:"changes"` // distinct changes cycled through (changeDeliveries)
	Repos    int     `json:"repos"`
}

// loadReport is the load generator's answer on its stdout.
type loadReport struct {
	LatencyUS []int64 `json:"latency_us"` // accepted requests only
	Sent      int     `json:"sent"`
	Failed    int     `json:"failed"`
	ElapsedUS int64   `json:"elapsed_us"`
	CPUUS     int64   `json:"cpu_us"` // the generator's own CPU time
}

// runLoadGen is the load generator process's main: it reads the spec from
// CHANGEPROOF_LOADGEN, sends, and prints a loadReport.
func runLoadGen(spec string) int {
	var s loadSpec
	if err := json.Unmarshal([]byte(spec), &s); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen spec:", err)
		return 2
	}
	ds := changeDeliveries(s.Changes, s.Repos)
	cpu0 := processCPU()
	var res loopResult
	switch s.Mode {
	case "open":
		res = openLoop(s.URL, ds, s.IDPrefix, s.Rate, s.Seconds)
	case "closed":
		res = closedLoop(s.URL, ds, s.IDPrefix, s.Senders, s.Seconds)
	default:
		fmt.Fprintln(os.Stderr, "loadgen: unknown mode", s.Mode)
		return 2
	}
	r := loadReport{Sent: res.sent, Failed: res.failed, ElapsedUS: res.elapsed.Microseconds(),
		CPUUS: (processCPU() - cpu0).Microseconds(), LatencyUS: make([]int64, len(res.lat))}
	for i, l := range res.lat {
		r.LatencyUS[i] = l.Microseconds()
	}
	if err := json.NewEncoder(os.Stdout).Encode(r); err != nil {
		return 1
	}
	return 0
}

// loadFrom runs the load generator in a child process against spec.URL
// and returns what it measured, and how many cores it used.
func loadFrom(b *testing.B, s loadSpec) (loopResult, float64) {
	b.Helper()
	if s.Changes == 0 {
		s.Changes, s.Repos = 1200, 50
	}
	js, err := json.Marshal(s)
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "CHANGEPROOF_LOADGEN="+string(js))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		b.Fatalf("load generator: %v", err)
	}
	var r loadReport
	if err := json.Unmarshal(out, &r); err != nil {
		b.Fatalf("load generator report: %v", err)
	}
	res := loopResult{sent: r.Sent, failed: r.Failed, elapsed: time.Duration(r.ElapsedUS) * time.Microsecond}
	for _, us := range r.LatencyUS {
		res.lat = append(res.lat, time.Duration(us)*time.Microsecond)
	}
	sort.Slice(res.lat, func(i, j int) bool { return res.lat[i] < res.lat[j] })
	return res, float64(r.CPUUS) / float64(max(r.ElapsedUS, 1))
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
func openLoop(url string, ds []signedDelivery, idPrefix string, rate, seconds float64) loopResult {
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
func closedLoop(url string, ds []signedDelivery, idPrefix string, senders int, seconds float64) loopResult {
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
