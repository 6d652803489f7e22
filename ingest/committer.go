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
}

// Stats returns the committer's counts so far.
func (c *Committer) Stats() CommitStats {
	c.statsMu.Lock()
	defer c.statsMu.Unlock()
	return c.stats
}

type submission struct {
	d    model.Delivery
	errc chan error
}

// NewCommitter starts a committer writing to sink in batches of at most
// maxBatch (0 = 1000) deliveries.
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
	s := &submission{d: d, errc: make(chan error, 1)}
	select {
	case c.reqs <- s:
	case <-c.stop:
		return ErrStopped
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-s.errc:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
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
		select {
		case s := <-c.reqs:
			batch = append(batch, s)
		case <-c.stop:
			c.drain()
			return
		}
	fill:
		for len(batch) < c.maxBatch {
			select {
			case s := <-c.reqs:
				batch = append(batch, s)
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
	ds := make([]model.Delivery, len(batch))
	for i, s := range batch {
		ds[i] = s.d
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
	c.statsMu.Unlock()
	for _, s := range batch {
		s.errc <- err
	}
}
