package ingest

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/changeproof/changeproof/model"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var (
	batchSize = promauto.NewHistogram(prometheus.HistogramOpts{
		Name: "changeproof_ingest_batch_size", Help: "Deliveries per durable write (group commit).",
		Buckets: prometheus.ExponentialBuckets(1, 2, 12)})
	batchSeconds = promauto.NewHistogram(prometheus.HistogramOpts{
		Name: "changeproof_ingest_batch_seconds", Help: "Time to make one batch durable.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 14)})
)

// ErrStopped is returned by Submit after Close.
var ErrStopped = errors.New("ingest: committer stopped")

// Committer groups concurrent submissions into one Sink.Accept call (group
// commit): while one write is in flight, new submissions queue and go out
// together in the next one. No submission waits for a timer.
//
// The zero value is not usable; call NewCommitter. Safe for concurrent use.
type Committer struct {
	sink     Sink
	maxBatch int
	reqs     chan *submission
	stop     chan struct{}
	done     chan struct{}
	once     sync.Once

	statsMu sync.Mutex
	stats   CommitStats
}

// CommitStats counts what a Committer wrote since it started.
type CommitStats struct {
	Batches    int64         // Sink.Accept calls
	Deliveries int64         // deliveries in them
	Writing    time.Duration // time spent in Sink.Accept
	Slowest    time.Duration // the longest Sink.Accept
}

// Stats returns the committer's counts so far.
func (c *Committer) Stats() CommitStats {
	c.statsMu.Lock()
	defer c.statsMu.Unlock()
	return c.stats
}

type submission struct {
	ds   []model.Delivery
	errc chan error
}

// NewCommitter starts a committer writing to sink in batches of at most
// maxBatch (0 = 1000) deliveries (a larger submission goes alone).
func NewCommitter(sink Sink, maxBatch int) *Committer {
	if maxBatch <= 0 {
		maxBatch = 1000
	}
	c := &Committer{sink: sink, maxBatch: maxBatch, reqs: make(chan *submission, maxBatch),
		stop: make(chan struct{}), done: make(chan struct{})}
	go c.loop()
	return c
}

// Submit blocks until d is durable (nil) or could not be made durable
// (error: the sender must not be told it was accepted). Cancelling ctx stops
// the wait, not the write.
func (c *Committer) Submit(ctx context.Context, d model.Delivery) error {
	wait, err := c.Enqueue(ctx, []model.Delivery{d})
	if err != nil {
		return err
	}
	return wait(ctx)
}

// Enqueue queues ds for the next write and returns how to wait for it.
// Submissions are written in the order Enqueue returned: a caller that
// holds a lock across Enqueue orders its records in the log. It blocks
// only while the queue is full (or until ctx ends or the committer
// stops). wait returns nil once ds are durable, or the write's error.
func (c *Committer) Enqueue(ctx context.Context, ds []model.Delivery) (wait func(ctx context.Context) error, err error) {
	s := &submission{ds: ds, errc: make(chan error, 1)}
	select {
	case c.reqs <- s:
	case <-c.stop:
		return nil, ErrStopped
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return func(ctx context.Context) error {
		select {
		case err := <-s.errc:
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}, nil
}

// Close stops accepting submissions, finishes what was queued and returns.
func (c *Committer) Close() {
	c.once.Do(func() { close(c.stop) })
	<-c.done
}

func (c *Committer) loop() {
	defer close(c.done)
	batch := make([]*submission, 0, c.maxBatch)
	for {
		batch = batch[:0]
		var n int
		select {
		case s := <-c.reqs:
			batch, n = append(batch, s), len(s.ds)
		case <-c.stop:
			c.drain()
			return
		}
	fill:
		for n < c.maxBatch {
			select {
			case s := <-c.reqs:
				batch, n = append(batch, s), n+len(s.ds)
			default:
				break fill
			}
		}
		c.write(batch)
	}
}

func (c *Committer) drain() {
	for {
		select {
		case s := <-c.reqs:
			c.write([]*submission{s})
		default:
			return
		}
	}
}

func (c *Committer) write(batch []*submission) {
	var ds []model.Delivery
	if len(batch) == 1 {
		ds = batch[0].ds
	} else {
		n := 0
		for _, s := range batch {
			n += len(s.ds)
		}
		ds = make([]model.Delivery, 0, n)
		for _, s := range batch {
			ds = append(ds, s.ds...)
		}
	}
	start := time.Now()
	// The write is not tied to any one request's context: a sender that gave
	// up must not abort the others' write.
	err := c.sink.Accept(context.Background(), ds)
	took := time.Since(start)
	batchSeconds.Observe(took.Seconds())
	batchSize.Observe(float64(len(ds)))
	c.statsMu.Lock()
	c.stats.Batches++
	c.stats.Deliveries += int64(len(ds))
	c.stats.Writing += took
	c.stats.Slowest = max(c.stats.Slowest, took)
	c.statsMu.Unlock()
	for _, s := range batch {
		s.errc <- err
	}
}
