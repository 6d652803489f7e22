package transport

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/changeproof/changeproof/ingest"
	"github.com/changeproof/changeproof/model"
)

var (
	_ ingest.Sink    = (*Producer)(nil)
	_ ingest.OpsSink = (*Producer)(nil)
)

// Producer writes accepted events to their topics. It implements
// ingest.Sink and ingest.OpsSink: every method returns nil only after Kafka
// acknowledged every message on all in-sync replicas. Safe for concurrent
// use.
type Producer struct {
	o Options
	w *kafka.Writer
}

// NewProducer validates o and returns a producer; it connects lazily. The
// topics must exist (EnsureTopics).
func NewProducer(o Options) (*Producer, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	o = o.withDefaults()
	w, err := newWriter(o)
	if err != nil {
		return nil, err
	}
	registerMetrics()
	return &Producer{o: o, w: w}, nil
}

func newWriter(o Options) (*kafka.Writer, error) {
	t, err := o.transport()
	if err != nil {
		return nil, err
	}
	return &kafka.Writer{
		Addr: kafka.TCP(o.Brokers...),
		// Java-compatible key hashing: a subject's events share a partition
		// with whatever else keys by it.
		Balancer:     &kafka.Murmur2Balancer{Consistent: true},
		RequiredAcks: kafka.RequireAll,
		MaxAttempts:  5,
		BatchSize:    1000,
		BatchBytes:   MaxMessageBytes,
		// Writes are synchronous: a caller's messages go out at once, not
		// after waiting for a batch to fill.
		BatchTimeout: 2 * time.Millisecond,
		WriteTimeout: 30 * time.Second,
		Compression:  kafka.Zstd,
		Transport:    t,
		Logger:       kafkaLogger(o.Log, false),
		ErrorLogger:  kafkaLogger(o.Log, true),
	}, nil
}

// Accept writes GitHub deliveries to <prefix>github, keyed by repository.
func (p *Producer) Accept(ctx context.Context, ds []model.Delivery) error {
	if len(ds) == 0 {
		return nil
	}
	topic := p.o.Topic(SourceGitHub)
	msgs := make([]kafka.Message, len(ds))
	for i, d := range ds {
		v, err := encodeDelivery(d)
		if err != nil {
			return fmt.Errorf("encode delivery %s: %w", d.DeliveryID, err)
		}
		msgs[i] = kafka.Message{Topic: topic, Key: []byte(repositoryKey(d)), Value: v, Time: d.ReceivedAt}
	}
	return p.write(ctx, topic, msgs)
}

// AcceptDeploys writes deploys to <prefix>deploy, keyed by service.
func (p *Producer) AcceptDeploys(ctx context.Context, ds []model.Deploy) error {
	if len(ds) == 0 {
		return nil
	}
	topic := p.o.Topic(SourceDeploy)
	msgs := make([]kafka.Message, len(ds))
	for i, d := range ds {
		v, err := encodeDeploy(d)
		if err != nil {
			return fmt.Errorf("encode deploy %s: %w", d.ID, err)
		}
		msgs[i] = kafka.Message{Topic: topic, Key: []byte(d.Service), Value: v, Time: d.ReceivedAt}
	}
	return p.write(ctx, topic, msgs)
}

// AcceptAccess writes access events to <prefix>access, keyed by system.
func (p *Producer) AcceptAccess(ctx context.Context, es []model.AccessEvent) error {
	if len(es) == 0 {
		return nil
	}
	topic := p.o.Topic(SourceAccess)
	msgs := make([]kafka.Message, len(es))
	for i, e := range es {
		v, err := encodeAccess(e)
		if err != nil {
			return fmt.Errorf("encode access event %s: %w", e.ID, err)
		}
		msgs[i] = kafka.Message{Topic: topic, Key: []byte(e.System), Value: v, Time: e.ReceivedAt}
	}
	return p.write(ctx, topic, msgs)
}

func (p *Producer) write(ctx context.Context, topic string, msgs []kafka.Message) error {
	if err := p.w.WriteMessages(ctx, msgs...); err != nil {
		return fmt.Errorf("kafka: produce %d messages to %s: %w", len(msgs), topic, summarize(err))
	}
	producedTotal.WithLabelValues(topic).Add(float64(len(msgs)))
	return nil
}

// summarize shortens kafka-go's per-message WriteErrors to its first error.
func summarize(err error) error {
	var we kafka.WriteErrors
	if errors.As(err, &we) {
		for _, e := range we {
			if e != nil {
				return fmt.Errorf("%d of %d failed, first: %w", we.Count(), len(we), e)
			}
		}
	}
	return err
}

// Close flushes and closes the producer.
func (p *Producer) Close() error { return p.w.Close() }
