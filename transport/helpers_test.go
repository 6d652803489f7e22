package transport

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/changeproof/changeproof/model"
)

// newCluster starts an in-process Kafka (kfake speaks the real protocol).
func newCluster(t *testing.T, opts ...kfake.Opt) []string {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()
}

func testLogger(t *testing.T) *zap.Logger {
	if os.Getenv("TRANSPORT_DEBUG") != "" {
		return zaptest.NewLogger(t, zaptest.Level(zap.DebugLevel))
	}
	return zaptest.NewLogger(t, zaptest.Level(zap.ErrorLevel))
}

// testOptions are tuned for a fast group join and quick retries.
func testOptions(t *testing.T, brokers []string) Options {
	return Options{
		Brokers:           brokers,
		TopicPrefix:       "cp.",
		Group:             "workers",
		Partitions:        3,
		BatchSize:         50,
		BatchWait:         30 * time.Millisecond,
		Log:               testLogger(t),
		HeartbeatInterval: 100 * time.Millisecond,
		SessionTimeout:    6 * time.Second,
		RebalanceTimeout:  3 * time.Second,
		MaxWait:           200 * time.Millisecond,
		RetryBackoff:      20 * time.Millisecond,
		DialTimeout:       5 * time.Second,
	}
}

func mustEnsure(t *testing.T, o Options) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := EnsureTopics(ctx, o); err != nil {
		t.Fatal(err)
	}
}

func delivery(repo string, i int) model.Delivery {
	body := fmt.Appendf(nil, `{"action":"opened","number":%d,"repository":{"id":1,"full_name":%q}}`, i, repo)
	if repo == "" {
		body = fmt.Appendf(nil, `{"zen":"Keep it logically awesome.","n":%d}`, i)
	}
	sum := sha256.Sum256(body)
	return model.Delivery{Source: "github", Event: "pull_request", DeliveryID: fmt.Sprintf("d-%s-%d", repo, i),
		ReceivedAt: time.Date(2024, 5, 1, 12, 0, i%60, 0, time.UTC), SHA256: hex.EncodeToString(sum[:]), Body: body}
}

// deliveries makes n deliveries spread over repos.
func deliveries(from, n int) []model.Delivery {
	repos := []string{"acme/api", "acme/web", "acme/db", "acme/ops", "acme/cli", "acme/lib", "acme/sdk"}
	out := make([]model.Delivery, n)
	for i := range out {
		out[i] = delivery(repos[(from+i)%len(repos)], from+i)
	}
	return out
}

func produce(t *testing.T, o Options, ds []model.Delivery) {
	t.Helper()
	p, err := NewProducer(o)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Accept(ctx, ds); err != nil {
		t.Fatal(err)
	}
}

// recorder collects what handlers were given.
type recorder struct {
	mu    sync.Mutex
	ids   map[string]int // delivery id -> times handled
	calls int
}

func newRecorder() *recorder { return &recorder{ids: map[string]int{}} }

func (r *recorder) add(ds []model.Delivery) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	for _, d := range ds {
		r.ids[d.DeliveryID]++
	}
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.ids)
}

func (r *recorder) snapshot() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]int, len(r.ids))
	for k, v := range r.ids {
		out[k] = v
	}
	return out
}

// running is a consumer started in the background.
type running struct {
	cancel context.CancelFunc
	done   chan error
}

func start(t *testing.T, o Options, h Handlers) *running {
	t.Helper()
	c, err := NewConsumer(o, h)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- c.Run(ctx) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// stop cancels the consumer and waits for Run to return.
func (r *running) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	select {
	case err, ok := <-r.done:
		if ok && err != nil {
			t.Errorf("Run: %v", err)
		}
		if ok {
			close(r.done)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("consumer did not stop")
	}
}

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// committed reads the group's committed offsets of topic (-1: none).
func committed(t *testing.T, o Options, topic string) map[int]int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	parts := make([]int, o.Partitions)
	for i := range parts {
		parts[i] = i
	}
	cl := &kafka.Client{Addr: kafka.TCP(o.Brokers...)}
	resp, err := cl.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: o.Group, Topics: map[string][]int{topic: parts}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Error != nil {
		t.Fatal(resp.Error)
	}
	out := map[int]int64{}
	for _, p := range resp.Topics[topic] {
		if p.Error != nil {
			t.Fatal(p.Error)
		}
		out[p.Partition] = p.CommittedOffset
	}
	return out
}

// endOffsets returns each partition's high-water mark.
func endOffsets(t *testing.T, o Options, topic string) map[int]int64 {
	t.Helper()
	out := map[int]int64{}
	for _, m := range readTopic(t, o, topic) {
		if m.Offset+1 > out[m.Partition] {
			out[m.Partition] = m.Offset + 1
		}
	}
	return out
}

// readTopic reads every message of topic, partition by partition, without a
// group.
func readTopic(t *testing.T, o Options, topic string) []kafka.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, err := o.withDefaults().dialer()
	if err != nil {
		t.Fatal(err)
	}
	conn, err := d.DialContext(ctx, "tcp", o.Brokers[0])
	if err != nil {
		t.Fatal(err)
	}
	ps, err := conn.ReadPartitions(topic)
	conn.Close()
	if err != nil {
		t.Fatal(err)
	}
	var out []kafka.Message
	for _, p := range ps {
		lc, err := d.DialLeader(ctx, "tcp", o.Brokers[0], topic, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		_ = lc.SetDeadline(time.Now().Add(10 * time.Second))
		first, last, err := lc.ReadOffsets()
		if err != nil {
			t.Fatal(err)
		}
		off := first
		for off < last {
			if _, err := lc.Seek(off, kafka.SeekAbsolute); err != nil {
				t.Fatal(err)
			}
			b := lc.ReadBatch(1, MaxMessageBytes)
			for {
				m, err := b.ReadMessage()
				if err != nil {
					break
				}
				out = append(out, m)
				off = m.Offset + 1
			}
			b.Close()
		}
		lc.Close()
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Partition != out[j].Partition {
			return out[i].Partition < out[j].Partition
		}
		return out[i].Offset < out[j].Offset
	})
	return out
}

func sum(m map[int]int64) int64 {
	var n int64
	for _, v := range m {
		if v > 0 {
			n += v
		}
	}
	return n
}
