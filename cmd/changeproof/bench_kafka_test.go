package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/changeproof/changeproof/enrich"
	"github.com/changeproof/changeproof/ingest/access"
	"github.com/changeproof/changeproof/internal/testkit/fixture"
	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/pipeline"
	"github.com/changeproof/changeproof/store/storetest"
	"github.com/changeproof/changeproof/transport"
)

// BenchmarkKafkaToStore measures, in one run, events/s from Kafka into the
// store through the consumer group, next to the raw kafka-go fetch rate of
// the same topic and the raw engine insert rate of the same rows: access
// events, and GitHub push deliveries of ~5-30 KB.
// Run: go test -run '^$' -bench KafkaToStore -benchtime 1x ./cmd/changeproof
func BenchmarkKafkaToStore(b *testing.B) {
	b.Run("access", func(b *testing.B) { benchKafka(b, "access", 100_000) })
	b.Run("github", func(b *testing.B) { benchKafka(b, "github", 10_000) })
}

func benchKafka(b *testing.B, kind string, n int) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		b.Fatal(err)
	}
	defer cluster.Close()
	ctx := context.Background()
	for i := 0; b.Loop(); i++ {
		st := storetest.Open(b)
		o := transport.Options{Brokers: cluster.ListenAddrs(), TopicPrefix: fmt.Sprintf("b%d%s.", i, kind), Group: fmt.Sprintf("g%d%s", i, kind),
			Partitions: 3, BatchSize: 20000, BatchWait: 100 * time.Millisecond}
		if err := transport.EnsureTopics(ctx, o); err != nil {
			b.Fatal(err)
		}
		p, err := transport.NewProducer(o)
		if err != nil {
			b.Fatal(err)
		}
		// Produce the events (not timed).
		var events []model.AccessEvent
		var deliveries []model.Delivery
		if kind == "access" {
			_, err := access.Read(bytes.NewReader(accessBody(fmt.Sprint("k", i), n)), access.Options{Format: access.Generic}, n,
				func(es []model.AccessEvent) error { events = es; return nil })
			if err != nil {
				b.Fatal(err)
			}
			for _, e := range events {
				r, err := model.AccessRecord(e, e.ReceivedAt)
				if err != nil {
					b.Fatal(err)
				}
				deliveries = append(deliveries, r)
			}
			for j := 0; j < n; j += 5000 {
				if err := p.Accept(ctx, deliveries[j:j+5000]); err != nil {
					b.Fatal(err)
				}
			}
		} else {
			deliveries = pushDeliveries(i, n)
			for j := 0; j < n; j += 500 {
				if err := p.Accept(ctx, deliveries[j:min(j+500, n)]); err != nil {
					b.Fatal(err)
				}
			}
		}
		p.Close()

		// Raw fetch: a plain kafka-go group reader over the same topic,
		// timed from its first message (after the group join).
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: o.Brokers, GroupID: o.Group + "-raw", Topic: o.Topic(kind),
			MaxBytes: 50 << 20, MinBytes: 1 << 20, MaxWait: 50 * time.Millisecond, QueueCapacity: 10000,
			HeartbeatInterval: time.Second, SessionTimeout: 10 * time.Second, JoinGroupBackoff: 100 * time.Millisecond})
		joined := time.Time{}
		for got := 0; got < n; got++ {
			if _, err := r.FetchMessage(ctx); err != nil {
				b.Fatal(err)
			}
			if got == 0 {
				joined = time.Now()
			}
		}
		r.Close()
		fetch := time.Since(joined)

		// Raw insert: the same rows straight into the engine.
		start := time.Now()
		if kind == "access" {
			// What the pipeline stores per access event: its row and its
			// link in the raw log.
			raw := storetest.Open(b)
			for j := 0; j < n; j += 5000 {
				batch := model.Batch{Access: events[j : j+5000], Deliveries: deliveries[j : j+5000]}
				if err := raw.Write(ctx, batch); err != nil {
					b.Fatal(err)
				}
			}
		} else {
			raw := storetest.Open(b)
			for j := 0; j < n; j += 500 {
				var batch model.Batch
				for _, d := range deliveries[j:min(j+500, n)] {
					if err := enrich.ParseGitHub(d, &batch); err != nil {
						b.Fatal(err)
					}
					batch.Deliveries = append(batch.Deliveries, d)
				}
				if err := raw.Write(ctx, batch); err != nil {
					b.Fatal(err)
				}
			}
		}
		insert := time.Since(start)

		// The pipeline: consumer group -> store, committing after storage.
		var stored atomic.Int64
		var begin atomic.Int64 // first handler call, after the group join
		mark := func() { begin.CompareAndSwap(0, time.Now().UnixNano()) }
		pipe := &pipeline.Deriver{Store: st}
		c, err := transport.NewConsumer(o, transport.Handlers{
			Deliveries: func(ctx context.Context, ds []model.Delivery) error {
				mark()
				res, err := pipe.Process(ctx, ds)
				stored.Add(int64(res.Stored + res.Duplicates))
				return err
			},
		})
		if err != nil {
			b.Fatal(err)
		}
		cctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); _ = c.Run(cctx) }()
		for stored.Load() < int64(n) {
			time.Sleep(2 * time.Millisecond)
		}
		consumed := time.Since(time.Unix(0, begin.Load()))
		cancel()
		<-done
		rate := func(count int64, d time.Duration) float64 { return float64(count) / d.Seconds() }
		fetchRate, insertRate := rate(int64(n), fetch), rate(int64(n), insert)
		pipeRate := rate(int64(n), consumed)
		b.ReportMetric(fetchRate, "raw-fetch/s")
		b.ReportMetric(insertRate, "raw-insert/s")
		b.ReportMetric(pipeRate, "kafka-to-store/s")
		b.ReportMetric(pipeRate/min(fetchRate, insertRate), "ratio")
	}
}

// pushDeliveries are n default-branch pushes of 5-30 KB each (the size
// grows with the number of commits, as GitHub's do).
func pushDeliveries(run, n int) []model.Delivery {
	repo := fixture.Repo{FullName: "acme/payments-api", DefaultBranch: "main"}
	out := make([]model.Delivery, n)
	for i := range out {
		var commits []fixture.Commit
		for c := 0; c < 5+i%25; c++ {
			commits = append(commits, fixture.Commit{SHA: fixture.SHA(fmt.Sprint(run, i, c)), Message: "PAY-1 a change with a message", Author: "bob", Timestamp: time.Now()})
		}
		body := fixture.Push(fixture.PushEvent{Repo: repo, Before: fixture.SHA(fmt.Sprint(run, i)), After: fixture.SHA(fmt.Sprint(run, i, "after")),
			Pusher: "bob", PushedAt: time.Now(), Commits: commits})
		sum := sha256.Sum256(body)
		out[i] = model.Delivery{Source: "github", Event: "push", DeliveryID: fmt.Sprintf("kb-%d-%d", run, i), ReceivedAt: time.Now(),
			SHA256: hex.EncodeToString(sum[:]), Body: body}
	}
	return out
}
