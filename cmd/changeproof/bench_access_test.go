package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/changeproof/changeproof/ingest/access"
	"github.com/changeproof/changeproof/model"
)

// accessBody is n generic NDJSON lines for system prod-db.
func accessBody(prefix string, n int) []byte {
	var b bytes.Buffer
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `{"id":"%s-%07d","time":"2026-02-02T10:00:00Z","principal":"alice","system":"prod-db","action":"query orders","result":"success","source_ip":"10.0.0.1","source":"pgaudit"}`+"\n", prefix, i)
	}
	return b.Bytes()
}

// BenchmarkAccessIngest compares, in one run, access events/s from an HTTP
// NDJSON body to stored (and judged) rows against the raw insert rate of the
// same rows into the same engine. The ratio is the figure that matters.
// Run: go test -run '^$' -bench AccessIngest -benchtime 3x ./cmd/changeproof
func BenchmarkAccessIngest(b *testing.B) {
	b.Run("judged", func(b *testing.B) { benchAccess(b, true) })
	// Without judging: parse and store only, the figure the ratio
	// is about ("HTTP body to stored rows").
	b.Run("stored", func(b *testing.B) { benchAccess(b, false) })
	// The same judged upload into an empty store and into one holding a
	// year of access logs with their verdicts, in one run.
	b.Run("store-size", benchAccessStoreSize)
}

// benchAccessHistory is how many stored events (each with its verdict)
// the store-size benchmark's large store holds: 1M by default, the
// issue's 10M with CHANGEPROOF_BENCH_ACCESS_HISTORY=10000000 (about a
// minute more to generate).
func benchAccessHistory() int {
	if v, err := strconv.Atoi(os.Getenv("CHANGEPROOF_BENCH_ACCESS_HISTORY")); err == nil && v > 0 {
		return v
	}
	return 1_000_000
}

// benchAccessStoreSize uploads n judged events (HTTP to verdicts
// recorded) into an empty store, then fills the same store with a history
// of stored events and their verdicts, and uploads as many again: the
// ratio of the two rates is what a year of access logs costs every later
// upload (target >= 0.7).
func benchAccessStoreSize(b *testing.B) {
	const n = 50_000
	tt := &testing.T{}
	e := startOpsB(b, fmt.Sprintf("bench_access_size_%d", time.Now().UnixNano()), accessConfig, tt)
	ctx := context.Background()
	upload := func(prefix string) time.Duration {
		body := accessBody(prefix, n)
		start := time.Now()
		req, _ := http.NewRequest(http.MethodPost, e.base+"/v1/access?format=generic", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+ingestToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != http.StatusAccepted {
			b.Fatalf("%v %v", resp, err)
		}
		resp.Body.Close()
		if err := e.a.waitIdle(ctx); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	var emptyDur, largeDur time.Duration
	rounds := 0
	for ; b.Loop(); rounds++ {
		emptyDur += upload(fmt.Sprintf("empty%d", rounds))
	}
	history := benchAccessHistory()
	start := time.Now()
	if err := e.a.store.GenerateAccessHistory(ctx, "prod-db", "alice", history, time.Now().UTC()); err != nil {
		b.Fatal(err)
	}
	b.Logf("stored %d events with their verdicts in %s", history, time.Since(start).Round(time.Millisecond))
	for i := range rounds {
		largeDur += upload(fmt.Sprintf("large%d", i))
	}
	emptyRate := float64(n*rounds) / emptyDur.Seconds()
	largeRate := float64(n*rounds) / largeDur.Seconds()
	b.ReportMetric(emptyRate, "empty-store-events/s")
	b.ReportMetric(largeRate, "large-store-events/s")
	b.ReportMetric(float64(history), "stored-events")
	b.ReportMetric(largeRate/emptyRate, "ratio")
}

func benchAccess(b *testing.B, judged bool) {
	const n = 50_000
	tt := &testing.T{}
	e := startOpsB(b, fmt.Sprintf("bench_access_%d", time.Now().UnixNano()), accessConfig, tt)
	if !judged {
		e.a.eval.AccessControls = nil
	}
	if ms := envFloat("CHANGEPROOF_BENCH_LOADER_YIELD_MS", 0); ms > 0 {
		e.a.loader.YieldMax = time.Duration(ms * float64(time.Millisecond)) // to compare bounds
	}
	ctx := context.Background()
	var rawDur, httpDur, acceptDur time.Duration
	for i := 0; b.Loop(); i++ {
		// Raw: the same rows, already parsed, inserted in the same batches:
		// what the pipeline stores per event, its row and its link in the
		// raw log (bytes and chain hash).
		var events []model.AccessEvent
		if _, err := access.Read(bytes.NewReader(accessBody(fmt.Sprintf("raw%d", i), n)), access.Options{Format: access.Generic}, n,
			func(es []model.AccessEvent) error { events = es; return nil }); err != nil {
			b.Fatal(err)
		}
		recs := make([]model.Delivery, len(events))
		for k, ev := range events {
			r, err := model.AccessRecord(ev, ev.ReceivedAt)
			if err != nil {
				b.Fatal(err)
			}
			recs[k] = r
		}
		start := time.Now()
		for j := 0; j < n; j += 5000 {
			if err := e.a.store.Write(ctx, model.Batch{Access: events[j : j+5000], Deliveries: recs[j : j+5000]}); err != nil {
				b.Fatal(err)
			}
		}
		rawDur += time.Since(start)

		// HTTP: from the request to every event stored (the 202 comes once
		// they are in the spool; the loader stores them after), and judged
		// too in the "judged" variant.
		body := accessBody(fmt.Sprintf("http%d", i), n)
		start = time.Now()
		req, _ := http.NewRequest(http.MethodPost, e.base+"/v1/access?format=generic", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+ingestToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != http.StatusAccepted {
			b.Fatalf("%v %v", resp, err)
		}
		resp.Body.Close()
		accepted := time.Since(start)
		if err := e.a.waitIdle(ctx); err != nil {
			b.Fatal(err)
		}
		httpDur += time.Since(start)
		acceptDur += accepted
	}
	rawRate := float64(n*b.N) / rawDur.Seconds()
	httpRate := float64(n*b.N) / httpDur.Seconds()
	b.ReportMetric(rawRate, "raw-events/s")
	b.ReportMetric(httpRate, "http-events/s")
	b.ReportMetric(httpRate/rawRate, "ratio")
	b.ReportMetric(float64(n*b.N)/acceptDur.Seconds(), "accepted-events/s")
}
