package transport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/changeproof/changeproof/internal/clock"
)

// Topics returns the four topic names: github, deploy, access, deadletter.
func (o Options) Topics() []string {
	return []string{o.Topic(SourceGitHub), o.Topic(SourceDeploy), o.Topic(SourceAccess), o.Topic(SourceDeadLetter)}
}

// EnsureTopics creates the topics that do not exist yet, with o.Partitions
// partitions and o.ReplicationFactor replicas, through the cluster's
// controller, and waits until every topic has a leader for each partition.
// Existing topics are left alone (a different partition count is logged).
// It is idempotent and safe to run from several processes at once.
func EnsureTopics(ctx context.Context, o Options) error {
	if err := o.Validate(); err != nil {
		return err
	}
	o = o.withDefaults()
	d, err := o.dialer()
	if err != nil {
		return err
	}
	conn, err := dialAny(ctx, d, o.Brokers)
	if err != nil {
		return err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}

	existing, err := partitionCounts(conn)
	if err != nil {
		return fmt.Errorf("kafka: read metadata: %w", err)
	}
	var missing []kafka.TopicConfig
	for _, t := range o.Topics() {
		n, ok := existing[t]
		switch {
		case !ok:
			missing = append(missing, kafka.TopicConfig{
				Topic:             t,
				NumPartitions:     o.Partitions,
				ReplicationFactor: o.ReplicationFactor,
				ConfigEntries: []kafka.ConfigEntry{
					{ConfigName: "max.message.bytes", ConfigValue: strconv.Itoa(MaxMessageBytes)},
				},
			})
		case n != o.Partitions:
			o.Log.Info("kafka topic exists with another partition count; left as is",
				zap.String("topic", t), zap.Int("partitions", n), zap.Int("configured", o.Partitions))
		}
	}
	if len(missing) == 0 {
		return nil
	}

	ctrl, err := conn.Controller()
	if err != nil {
		return fmt.Errorf("kafka: find controller: %w", err)
	}
	cc, err := d.DialContext(ctx, "tcp", net.JoinHostPort(ctrl.Host, strconv.Itoa(ctrl.Port)))
	if err != nil {
		return fmt.Errorf("kafka: dial controller: %w", err)
	}
	defer cc.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = cc.SetDeadline(dl)
	}
	if err := cc.CreateTopics(missing...); err != nil {
		return fmt.Errorf("kafka: create topics: %w", err)
	}
	for _, t := range missing {
		o.Log.Info("kafka topic created", zap.String("topic", t.Topic),
			zap.Int("partitions", t.NumPartitions), zap.Int("replication_factor", t.ReplicationFactor))
	}

	// Creation is asynchronous: wait until the metadata shows the topics
	// with their leaders, so that a producer started next can write.
	for delay := 20 * time.Millisecond; ; delay = min(2*delay, time.Second) {
		ready, err := topicsReady(ctx, d, o.Brokers, o.Topics())
		if err == nil && ready {
			return nil
		}
		if cerr := clock.Sleep(ctx, delay); cerr != nil {
			if err == nil {
				err = errors.New("topics have no leader yet")
			}
			return fmt.Errorf("kafka: wait for created topics: %w (%w)", cerr, err)
		}
	}
}

func dialAny(ctx context.Context, d *kafka.Dialer, brokers []string) (*kafka.Conn, error) {
	var errs []error
	for _, b := range brokers {
		c, err := d.DialContext(ctx, "tcp", b)
		if err == nil {
			return c, nil
		}
		errs = append(errs, err)
	}
	return nil, fmt.Errorf("kafka: no broker reachable: %w", errors.Join(errs...))
}

// partitionCounts reads every topic's partition count from the metadata.
func partitionCounts(conn *kafka.Conn) (map[string]int, error) {
	ps, err := conn.ReadPartitions()
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, p := range ps {
		out[p.Topic]++
	}
	return out, nil
}

func topicsReady(ctx context.Context, d *kafka.Dialer, brokers, topics []string) (bool, error) {
	conn, err := dialAny(ctx, d, brokers)
	if err != nil {
		return false, err
	}
	defer conn.Close()
	ps, err := conn.ReadPartitions()
	if err != nil {
		return false, err
	}
	want := map[string]bool{}
	for _, t := range topics {
		want[t] = true
	}
	seen := map[string]bool{}
	for _, p := range ps {
		if !want[p.Topic] {
			continue
		}
		if p.Leader.Host == "" {
			return false, nil
		}
		seen[p.Topic] = true
	}
	for _, t := range topics {
		if !seen[t] {
			return false, nil
		}
	}
	return true, nil
}
