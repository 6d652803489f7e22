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

var _ ingest.Sink = (*Producer)(nil)

// Producer writes accepted records of every source to their topics. It
// implements ingest.Sink: Accept returns nil only after Kafka acknowledged
// every message on all in-sync replicas. Safe for concurrent use.
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

// Accept writes records to the topic of their source, keyed so that one
// repository's (GitHub), one system's (access) events stay in order:
// GitHub deliveries and REST responses to <prefix>github by repository,
// deploys to <prefix>deploy by id, access events to <prefix>access by
// system.
func (p *Producer) Accept(ctx context.Context, ds []model.Delivery) error {
	if len(ds) == 0 {
		return nil
	}
	byTopic := map[string][]kafka.Message{}
	var order []string
	for _, d := range ds {
		topic, err := p.o.topicOf(d.Source)
		if err != nil {
			return err
		}
		v, err := encodeDelivery(d)
		if err != nil {
			return fmt.Errorf("encode %s %s: %w", d.Source, d.DeliveryID, err)
		}
		key := d.DeliveryID
		if topic == p.o.Topic(SourceGitHub) {
			key = repositoryKey(d)
		}
		if _, ok := byTopic[topic]; !ok {
			order = append(order, topic)
		}
		byTopic[topic] = append(byTopic[topic], kafka.Message{Topic: topic, Key: []byte(d.PartitionKey(key)), Value: v, Time: d.ReceivedAt})
	}
	for _, topic := range order {
		if err := p.write(ctx, topic, byTopic[topic]); err != nil {
			return err
		}
	}
	return nil
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
