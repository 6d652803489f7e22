package transport

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/changeproof/changeproof/internal/clock"
	"github.com/changeproof/changeproof/model"
)

// Handlers store what a Consumer reads. Deliveries is called with one
// batch's records (every source: GitHub deliveries and REST responses,
// deploys, access events), in partition order, and must return nil only
// once they are durable; an error makes the consumer retry the whole batch
// (a retry repeats only the steps that had not yet succeeded). Handlers
// see a redelivered record again after a crash or rebalance, so storing
// must be idempotent by source and id (pipeline.Deriver is).
type Handlers struct {
	// Deliveries stores records (cmd: pipeline.Loader.Load).
	Deliveries func(ctx context.Context, ds []model.Delivery) error
	// DeadLetter stores undecodable messages in the dead-letter table
	// (DeadLetter.Model gives the row). The consumer also produces them to
	// <prefix>deadletter. Nil: the topic only.
	DeadLetter func(ctx context.Context, dl []DeadLetter) error
	// Through, if set, hears after each stored batch (and every quarter
	// second while the consumer waits, caught up) a time before which
	// every message of the partitions this consumer reads is stored: the
	// pipeline's processing watermark (pipeline.Watermark.Through). It
	// must not block.
	Through func(at time.Time)
}

// DeadLetter is a consumed message that could not be decoded.
type DeadLetter struct {
	Topic     string
	Partition int
	Offset    int64
	Key       []byte
	Value     []byte
	Reason    string
	// At is when the message was produced (its Kafka timestamp), that is
	// when its event was accepted; stable across redeliveries.
	At time.Time
	// Source is the topic's source: github, deploy or access.
	Source string
}

// ID is the dead letter's stable id: "kafka:<topic>/<partition>/<offset>".
func (d DeadLetter) ID() string {
	return "kafka:" + d.Topic + "/" + strconv.Itoa(d.Partition) + "/" + strconv.FormatInt(d.Offset, 10)
}

// Model returns the dead letter as the store's dead-letter row: delivery id
// ID() (so a redelivered dead letter replaces itself), body the message
// value as it was in Kafka.
func (d DeadLetter) Model() model.DeadLetter {
	src := d.Source
	if src == "" {
		src = d.Topic
	}
	return model.DeadLetter{Source: src, Event: "kafka", DeliveryID: d.ID(), ReceivedAt: d.At,
		Reason: d.Reason, Body: d.Value}
}

// Headers of a message on the dead-letter topic; its key and value are the
// original message's.
const (
	HeaderReason    = "changeproof-reason"
	HeaderTopic     = "changeproof-topic"
	HeaderPartition = "changeproof-partition"
	HeaderOffset    = "changeproof-offset"
)

// commitTimeout bounds one offset commit, also after shutdown began.
const commitTimeout = 10 * time.Second

// Consumer reads the event topics as a member of the consumer group
// Options.Group and hands batches to its Handlers; see the package comment
// for its guarantees.
type Consumer struct {
	o      Options
	h      Handlers
	topics []string
}

// NewConsumer validates o and h. It does not connect; Run does.
func NewConsumer(o Options, h Handlers) (*Consumer, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if o.Group == "" {
		return nil, errors.New("kafka.group: required to consume")
	}
	o = o.withDefaults()
	registerMetrics()
	c := &Consumer{o: o, h: h}
	if h.Deliveries != nil {
		c.topics = append(c.topics, o.Topic(SourceGitHub), o.Topic(SourceDeploy), o.Topic(SourceAccess))
	}
	if len(c.topics) == 0 {
		return nil, errors.New("transport: consumer without handlers (set Deliveries)")
	}
	return c, nil
}

// Run consumes until ctx ends, then leaves the group and returns nil. A
// batch in progress when ctx ends is not committed and will be redelivered.
// It creates missing topics first (retrying until the cluster answers; a
// cluster that forbids creating them is left to its operator). Run must not
// be called twice at once.
func (c *Consumer) Run(ctx context.Context) error {
	log := c.o.Log.With(zap.String("group", c.o.Group))
	if !c.ensureTopics(ctx, log) {
		return nil
	}
	d, err := c.o.dialer()
	if err != nil {
		return err
	}
	dlw, err := newWriter(c.o)
	if err != nil {
		return err
	}
	defer dlw.Close()
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:               c.o.Brokers,
		GroupID:               c.o.Group,
		GroupTopics:           c.topics,
		Dialer:                d,
		QueueCapacity:         c.o.BatchSize,
		MinBytes:              1,
		MaxBytes:              MaxMessageBytes,
		MaxWait:               c.o.MaxWait,
		ReadBatchTimeout:      c.o.MaxWait + 10*time.Second,
		ReadBackoffMin:        50 * time.Millisecond,
		ReadBackoffMax:        time.Second,
		HeartbeatInterval:     c.o.HeartbeatInterval,
		SessionTimeout:        c.o.SessionTimeout,
		RebalanceTimeout:      c.o.RebalanceTimeout,
		JoinGroupBackoff:      min(time.Second, c.o.HeartbeatInterval),
		WatchPartitionChanges: true,
		CommitInterval:        0, // synchronous commits: CommitMessages returns once committed
		StartOffset:           kafka.FirstOffset,
		Logger:                kafkaLogger(log, false),
		ErrorLogger:           kafkaLogger(log, true),
	})
	defer r.Close()
	log.Info("kafka consumer started", zap.Strings("topics", c.topics))

	// Fetching and decoding the next batch overlaps storing this one; the
	// batches are still stored and committed one at a time, in order.
	type fetched struct {
		msgs []kafka.Message
		b    *batch
		at   time.Time
	}
	next := make(chan fetched, 1)
	fctx, stopFetch := context.WithCancel(ctx)
	defer stopFetch()
	var prog progress
	if c.h.Through != nil {
		go func() {
			t := time.NewTicker(250 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-fctx.Done():
					return
				case now := <-t.C:
					if at, ok := prog.idle(now); ok {
						c.h.Through(at)
					}
				}
			}
		}()
	}
	go func() {
		defer close(next)
		backoff := c.o.RetryBackoff
		for {
			prog.setWaiting(true)
			msgs, err := c.fetch(fctx, r)
			prog.setWaiting(false)
			at := time.Now()
			if fctx.Err() != nil {
				return
			}
			if err != nil {
				log.Warn("kafka fetch failed", zap.Error(err))
				if len(msgs) == 0 {
					if !sleep(fctx, backoff) {
						return
					}
					backoff = min(2*backoff, maxRetryBackoff)
					continue
				}
			}
			backoff = c.o.RetryBackoff
			prog.inflight(1)
			select {
			case next <- fetched{msgs, c.decode(msgs), at}:
			case <-fctx.Done():
				return
			}
		}
	}()
	for f := range next {
		if ctx.Err() != nil {
			break
		}
		if c.process(ctx, log, r, dlw, f.msgs, f.b) && c.h.Through != nil {
			c.h.Through(prog.stored(f.msgs, f.at))
		}
		prog.inflight(-1)
	}
	log.Info("kafka consumer stopping")
	return nil
}

func (c *Consumer) ensureTopics(ctx context.Context, log *zap.Logger) bool {
	backoff := c.o.RetryBackoff
	for {
		err := EnsureTopics(ctx, c.o)
		switch {
		case err == nil:
			return true
		case ctx.Err() != nil:
			return false
		case errors.Is(err, kafka.TopicAuthorizationFailed), errors.Is(err, kafka.ClusterAuthorizationFailed),
			errors.Is(err, kafka.PolicyViolation):
			log.Warn("kafka topics not created; consuming the existing ones", zap.Error(err))
			return true
		}
		log.Warn("kafka topics not ensured; retrying", zap.Error(err), zap.Duration("in", backoff))
		if !sleep(ctx, backoff) {
			return false
		}
		backoff = min(2*backoff, maxRetryBackoff)
	}
}

// fetch blocks for one message, then gathers more until BatchSize or
// BatchWait. Messages it could not return stay queued in the reader.
func (c *Consumer) fetch(ctx context.Context, r *kafka.Reader) ([]kafka.Message, error) {
	m, err := r.FetchMessage(ctx)
	if err != nil {
		return nil, err
	}
	msgs := []kafka.Message{m}
	wctx, cancel := context.WithTimeout(ctx, c.o.BatchWait)
	defer cancel()
	for len(msgs) < c.o.BatchSize {
		m, err := r.FetchMessage(wctx)
		if err != nil {
			if wctx.Err() != nil {
				return msgs, nil // batch time is up (or ctx ended: Run checks)
			}
			return msgs, err
		}
		msgs = append(msgs, m)
	}
	return msgs, nil
}

// batch is one fetched batch, decoded, with which of its steps are durable.
type batch struct {
	msgs       []kafka.Message
	deliveries []model.Delivery
	dead       []DeadLetter
	done       map[string]bool
}

func (c *Consumer) decode(msgs []kafka.Message) *batch {
	b := &batch{msgs: msgs, done: map[string]bool{}}
	// A message the producer wrote twice is handled once; the same id with
	// other bytes is not a repeat but a conflict, which the handler keeps.
	seen := map[string]bool{}
	for _, m := range msgs {
		src := c.o.sourceOf(m.Topic)
		var err error
		switch src {
		case SourceGitHub, SourceDeploy, SourceAccess:
			var d model.Delivery
			if d, err = decodeRecord(src, m.Value); err == nil {
				if k := d.Source + "\x00" + d.DeliveryID + "\x00" + d.SHA256; !seen[k] {
					seen[k] = true
					b.deliveries = append(b.deliveries, d)
				}
			}
		default:
			err = fmt.Errorf("no handler for topic %s", m.Topic)
		}
		if err != nil {
			at := m.Time
			if at.IsZero() {
				at = time.Now()
			}
			b.dead = append(b.dead, DeadLetter{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset,
				Key: m.Key, Value: m.Value, Reason: err.Error(), At: at.UTC(), Source: src})
		}
	}
	return b
}

// process stores a batch, retrying until it is stored or ctx ends, then
// commits it. It never skips a batch: returning without a commit happens only
// when ctx ended, and then the group redelivers the batch.
func (c *Consumer) process(ctx context.Context, log *zap.Logger, r *kafka.Reader, dlw *kafka.Writer, msgs []kafka.Message, b *batch) (stored bool) {
	start := time.Now()
	for _, d := range b.dead {
		deadLettersTotal.WithLabelValues(d.Topic).Inc()
		log.Warn("kafka message dead-lettered", zap.String("topic", d.Topic), zap.Int("partition", d.Partition),
			zap.Int64("offset", d.Offset), zap.String("reason", d.Reason))
	}
	backoff := c.o.RetryBackoff
	for attempt := 1; ; attempt++ {
		step, err := c.store(ctx, b, dlw)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			log.Info("kafka consumer stopped before a batch was stored; it will be redelivered",
				zap.Int("messages", len(msgs)))
			return false
		}
		retriesTotal.WithLabelValues(step).Inc()
		log.Warn("kafka batch not stored; retrying the same batch", zap.String("step", step),
			zap.Int("messages", len(msgs)), zap.Int("attempt", attempt), zap.Duration("in", backoff), zap.Error(err))
		if !sleep(ctx, backoff) {
			return false
		}
		backoff = min(2*backoff, maxRetryBackoff)
	}

	// The highest offset of each partition: the partition's messages in the
	// batch are in order and all stored, and those before them were stored
	// by earlier batches (committed or not), so everything below it is.
	type tp struct {
		topic     string
		partition int
	}
	last := map[tp]kafka.Message{}
	for _, m := range msgs {
		k := tp{m.Topic, m.Partition}
		if cur, ok := last[k]; !ok || m.Offset > cur.Offset {
			last[k] = m
		}
	}
	commits := make([]kafka.Message, 0, len(last))
	for _, m := range last {
		commits = append(commits, m)
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
	defer cancel()
	if err := r.CommitMessages(cctx, commits...); err != nil {
		// Stored but not committed: the batch comes again and the store
		// deduplicates it.
		commitErrors.Inc()
		log.Warn("kafka commit failed after the batch was stored; it may be redelivered", zap.Error(err))
		return true
	}
	for _, m := range msgs {
		consumedTotal.WithLabelValues(m.Topic).Inc()
	}
	for k, m := range last {
		lagGauge.WithLabelValues(k.topic, strconv.Itoa(k.partition)).Set(float64(max(0, m.HighWaterMark-m.Offset-1)))
	}
	batchMessages.Observe(float64(len(msgs)))
	batchSeconds.Observe(time.Since(start).Seconds())
	return true
}

// store runs the batch's steps that are not yet durable. It returns the
// failing step's name with its error.
func (c *Consumer) store(ctx context.Context, b *batch, dlw *kafka.Writer) (string, error) {
	run := func(step string, n int, fn func() error) error {
		if n == 0 || b.done[step] {
			return nil
		}
		if err := fn(); err != nil {
			return err
		}
		b.done[step] = true
		return nil
	}
	steps := []struct {
		name string
		n    int
		fn   func() error
	}{
		{"records", len(b.deliveries), func() error { return c.h.Deliveries(ctx, b.deliveries) }},
		{"deadletter-table", len(b.dead), func() error {
			if c.h.DeadLetter == nil {
				return nil
			}
			return c.h.DeadLetter(ctx, b.dead)
		}},
		{c.o.Topic(SourceDeadLetter), len(b.dead), func() error { return c.produceDead(ctx, dlw, b.dead) }},
	}
	for _, s := range steps {
		if err := run(s.name, s.n, s.fn); err != nil {
			return s.name, err
		}
	}
	return "", nil
}

func (c *Consumer) produceDead(ctx context.Context, w *kafka.Writer, dl []DeadLetter) error {
	topic := c.o.Topic(SourceDeadLetter)
	msgs := make([]kafka.Message, len(dl))
	for i, d := range dl {
		msgs[i] = kafka.Message{Topic: topic, Key: d.Key, Value: d.Value, Time: d.At, Headers: []kafka.Header{
			{Key: HeaderReason, Value: []byte(d.Reason)},
			{Key: HeaderTopic, Value: []byte(d.Topic)},
			{Key: HeaderPartition, Value: []byte(strconv.Itoa(d.Partition))},
			{Key: HeaderOffset, Value: []byte(strconv.FormatInt(d.Offset, 10))},
		}}
	}
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		return fmt.Errorf("kafka: produce %d dead letters: %w", len(msgs), summarize(err))
	}
	producedTotal.WithLabelValues(topic).Add(float64(len(msgs)))
	return nil
}

// sleep waits d; false means ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool { return clock.Sleep(ctx, d) == nil }
