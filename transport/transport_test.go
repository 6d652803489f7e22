package transport

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/changeproof/changeproof/model"
)

func TestEnsureTopicsCreatesConfiguredPartitions(t *testing.T) {
	t.Parallel()
	o := testOptions(t, newCluster(t))
	o.Partitions = 4
	mustEnsure(t, o)
	mustEnsure(t, o) // idempotent

	d, _ := o.withDefaults().dialer()
	conn, err := d.Dial("tcp", o.Brokers[0])
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	counts, err := partitionCounts(conn)
	if err != nil {
		t.Fatal(err)
	}
	for _, topic := range []string{"cp.github", "cp.deploy", "cp.access", "cp.deadletter"} {
		if counts[topic] != 4 {
			t.Errorf("%s: %d partitions, want 4", topic, counts[topic])
		}
	}

	// Existing topics are left as they are.
	o.Partitions = 8
	mustEnsure(t, o)
	counts, _ = partitionCounts(conn)
	if counts["cp.github"] != 4 {
		t.Errorf("existing topic changed to %d partitions", counts["cp.github"])
	}
}

func TestProducerWritesKeyedAcknowledged(t *testing.T) {
	t.Parallel()
	o := testOptions(t, newCluster(t))
	mustEnsure(t, o)
	p, err := NewProducer(o)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx := context.Background()

	ds := deliveries(0, 30)
	odd := delivery("", 99) // no repository: keyed by delivery id
	odd.Body = []byte("{ \"zen\" : \"<&>\" }\n")
	odd.SHA256 = sha(odd.Body)
	notJSON := delivery("", 100)
	notJSON.Body = []byte("payload=%7B%7D\xff")
	notJSON.SHA256 = sha(notJSON.Body)
	ds = append(ds, odd, notJSON)
	if err := p.Accept(ctx, ds); err != nil {
		t.Fatal(err)
	}
	deploys := []model.Deploy{
		{ID: "1", Source: "api", Service: "api", Environment: "production", SHA: strings.Repeat("a", 40), Status: "success",
			StartedAt: time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)},
		{ID: "2", Source: "api", Service: "web", Environment: "production", SHA: strings.Repeat("b", 40), Status: "failure"},
		{ID: "3", Source: "api", Service: "api", Environment: "staging", SHA: strings.Repeat("c", 40), Status: "success"},
	}
	access := []model.AccessEvent{
		{ID: "a1", System: "prod-db", Principal: "alice", Action: "login", Result: "success", Format: "generic", Raw: "line 1"},
		{ID: "a2", System: "bastion", Principal: "bob", Action: "ssh", Result: "failure", Format: "sshd", Raw: "bad \xfe utf8"},
	}
	var recs []model.Delivery
	for _, d := range deploys {
		d.Raw = `{"id":"` + d.ID + `"}`
		r, err := model.DeployRecord(d, time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC))
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	for _, a := range access {
		r, err := model.AccessRecord(a, time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC))
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	if err := p.Accept(ctx, recs); err != nil {
		t.Fatal(err)
	}

	// GitHub: every delivery once, keyed by repository, one partition per key,
	// body byte for byte.
	msgs := readTopic(t, o, "cp.github")
	if len(msgs) != len(ds) {
		t.Fatalf("github topic has %d messages, want %d", len(msgs), len(ds))
	}
	partOf := map[string]int{}
	got := map[string]model.Delivery{}
	for _, m := range msgs {
		d, err := decodeDelivery(m.Value)
		if err != nil {
			t.Fatal(err)
		}
		got[d.DeliveryID] = d
		if want := repositoryKey(d); string(m.Key) != want {
			t.Errorf("%s keyed %q, want %q", d.DeliveryID, m.Key, want)
		}
		if p, ok := partOf[string(m.Key)]; ok && p != m.Partition {
			t.Errorf("key %q in partitions %d and %d", m.Key, p, m.Partition)
		}
		partOf[string(m.Key)] = m.Partition
	}
	for _, d := range ds {
		g, ok := got[d.DeliveryID]
		if !ok {
			t.Errorf("%s missing", d.DeliveryID)
			continue
		}
		if !bytes.Equal(g.Body, d.Body) || g.SHA256 != d.SHA256 || g.Event != d.Event || !g.ReceivedAt.Equal(d.ReceivedAt) {
			t.Errorf("%s changed in transit: %q", d.DeliveryID, g.Body)
		}
	}
	if k := repositoryKey(ds[0]); k != "acme/api" {
		t.Errorf("key %q, want acme/api", k)
	}
	if k := repositoryKey(odd); k != odd.DeliveryID {
		t.Errorf("key %q, want the delivery id", k)
	}
	if len(partOf) < 2 {
		t.Errorf("all keys in one partition: %v", partOf)
	}

	dm := readTopic(t, o, "cp.deploy")
	if len(dm) != 3 {
		t.Fatalf("deploy topic has %d messages", len(dm))
	}
	for _, m := range dm {
		r, err := decodeRecord(SourceDeploy, m.Value)
		if err != nil {
			t.Fatal(err)
		}
		d, err := r.Deploy()
		if err != nil {
			t.Fatal(err)
		}
		if string(m.Key) != d.ID || r.Source != model.SourceDeploy {
			t.Errorf("deploy %s keyed %q (source %s)", d.ID, m.Key, r.Source)
		}
		if d.ID == "1" && (!d.StartedAt.Equal(deploys[0].StartedAt) || d.Raw != `{"id":"1"}`) {
			t.Errorf("deploy changed: %+v", d)
		}
	}
	am := readTopic(t, o, "cp.access")
	if len(am) != 2 {
		t.Fatalf("access topic has %d messages", len(am))
	}
	for _, m := range am {
		r, err := decodeRecord(SourceAccess, m.Value)
		if err != nil {
			t.Fatal(err)
		}
		a, err := r.Access()
		if err != nil {
			t.Fatal(err)
		}
		if string(m.Key) != a.System {
			t.Errorf("access %s keyed %q", a.ID, m.Key)
		}
		if a.ID == "a2" && (a.Raw != access[1].Raw || string(r.Body) != access[1].Raw) {
			t.Errorf("raw line changed: %q", a.Raw)
		}
	}
}

func TestConsumerStoresCommitsAndResumes(t *testing.T) {
	t.Parallel()
	o := testOptions(t, newCluster(t))
	mustEnsure(t, o)
	produce(t, o, deliveries(0, 60))

	rec := newRecorder()
	var deploys atomic.Int32
	// Records of every source reach the one handler.
	split := func(rec *recorder) func(context.Context, []model.Delivery) error {
		return func(_ context.Context, ds []model.Delivery) error {
			var gh []model.Delivery
			for _, d := range ds {
				if d.Source == model.SourceDeploy {
					deploys.Add(1)
				} else {
					gh = append(gh, d)
				}
			}
			rec.add(gh)
			return nil
		}
	}
	h := Handlers{Deliveries: split(rec)}
	c1 := start(t, o, h)
	waitFor(t, "60 deliveries", 20*time.Second, func() bool { return rec.count() == 60 })
	end := endOffsets(t, o, "cp.github")
	waitFor(t, "commits", 5*time.Second, func() bool { return sum(committed(t, o, "cp.github")) == 60 })
	c1.stop(t)
	for p, off := range committed(t, o, "cp.github") {
		if off != end[p] {
			t.Errorf("partition %d committed %d, want %d", p, off, end[p])
		}
	}

	// A new consumer in the same group resumes after the commit: it sees the
	// new deliveries and none of the committed ones again.
	produce(t, o, deliveries(60, 20))
	p, _ := NewProducer(o)
	dep, err := model.DeployRecord(model.Deploy{ID: "d1", Service: "api", Raw: `{"id":"d1"}`}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Accept(context.Background(), []model.Delivery{dep}); err != nil {
		t.Fatal(err)
	}
	p.Close()
	rec2 := newRecorder()
	h.Deliveries = split(rec2)
	start(t, o, h)
	waitFor(t, "20 more deliveries", 20*time.Second, func() bool { return rec2.count() == 20 })
	waitFor(t, "the deploy", 5*time.Second, func() bool { return deploys.Load() == 1 })
	time.Sleep(300 * time.Millisecond) // anything redelivered would show by now
	for id, n := range rec2.snapshot() {
		if n != 1 {
			t.Errorf("%s handled %d times", id, n)
		}
		var i int
		fmt.Sscanf(id[strings.LastIndexByte(id, '-')+1:], "%d", &i)
		if i < 60 {
			t.Errorf("committed delivery %s redelivered", id)
		}
	}
	waitFor(t, "commits", 5*time.Second, func() bool { return sum(committed(t, o, "cp.github")) == 80 })

	if n := counterValue(t, consumedTotal.WithLabelValues("cp.github")); n < 80 {
		t.Errorf("consumed_total %v, want at least 80", n)
	}
	if n := counterValue(t, producedTotal.WithLabelValues("cp.github")); n < 80 {
		t.Errorf("produced_total %v, want at least 80", n)
	}
	ch := make(chan prometheus.Metric, 100)
	lagGauge.Collect(ch)
	if len(ch) == 0 {
		t.Error("no lag gauge")
	}
}

func counterValue(t *testing.T, c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

func TestProducerFailsWithoutBroker(t *testing.T) {
	t.Parallel()
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	o := testOptions(t, c.ListenAddrs())
	mustEnsure(t, o)
	p, err := NewProducer(o)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.Accept(context.Background(), deliveries(0, 1)); err != nil {
		t.Fatal(err)
	}
	c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := p.Accept(ctx, deliveries(1, 1)); err == nil {
		t.Fatal("Accept returned nil without a broker to acknowledge")
	}
}

func TestConsumerRetriesFailedBatchAndCommitsOnlyAfterSuccess(t *testing.T) {
	t.Parallel()
	o := testOptions(t, newCluster(t))
	o.Partitions = 1
	mustEnsure(t, o)
	produce(t, o, deliveries(0, 10))

	const failures = 3
	var mu sync.Mutex
	var attempts [][]string
	var committedDuringFailures []int64
	rec := newRecorder()
	h := Handlers{Deliveries: func(ctx context.Context, ds []model.Delivery) error {
		mu.Lock()
		defer mu.Unlock()
		ids := make([]string, len(ds))
		for i, d := range ds {
			ids[i] = d.DeliveryID
		}
		attempts = append(attempts, ids)
		if len(attempts) <= failures {
			committedDuringFailures = append(committedDuringFailures, committed(t, o, "cp.github")[0])
			return errors.New("store unavailable")
		}
		rec.add(ds)
		return nil
	}}
	start(t, o, h)
	waitFor(t, "all deliveries", 20*time.Second, func() bool { return rec.count() == 10 })
	waitFor(t, "the commit", 5*time.Second, func() bool { return committed(t, o, "cp.github")[0] == 10 })

	mu.Lock()
	defer mu.Unlock()
	for i, off := range committedDuringFailures {
		if off != -1 {
			t.Errorf("attempt %d: offset %d committed before the batch was stored", i+1, off)
		}
	}
	// The failed batch is retried as it was: same messages, same order.
	for i := 1; i <= failures; i++ {
		if fmt.Sprint(attempts[i]) != fmt.Sprint(attempts[0]) {
			t.Errorf("attempt %d handled %v, want the same batch %v", i+1, attempts[i], attempts[0])
		}
	}
	for id, n := range rec.snapshot() {
		if n != 1 {
			t.Errorf("%s stored %d times", id, n)
		}
	}
}

// waitStable waits until the group has n members, each with partitions.
func waitStable(t *testing.T, o Options, n int) {
	t.Helper()
	cl := &kafka.Client{Addr: kafka.TCP(o.Brokers...)}
	waitFor(t, fmt.Sprintf("a stable group of %d", n), 20*time.Second, func() bool {
		resp, err := cl.DescribeGroups(context.Background(), &kafka.DescribeGroupsRequest{GroupIDs: []string{o.Group}})
		if err != nil || len(resp.Groups) != 1 {
			return false
		}
		g := resp.Groups[0]
		if g.GroupState != "Stable" || len(g.Members) != n {
			return false
		}
		for _, m := range g.Members {
			if len(m.MemberAssignments.Topics) == 0 {
				return false
			}
		}
		return true
	})
}

func TestTwoConsumersSplitPartitions(t *testing.T) {
	t.Parallel()
	o := testOptions(t, newCluster(t))
	o.Partitions = 6
	mustEnsure(t, o)

	a, b := newRecorder(), newRecorder()
	start(t, o, Handlers{Deliveries: func(_ context.Context, ds []model.Delivery) error { a.add(ds); return nil }})
	start(t, o, Handlers{Deliveries: func(_ context.Context, ds []model.Delivery) error { b.add(ds); return nil }})
	waitStable(t, o, 2)

	ds := deliveries(0, 140)
	produce(t, o, ds)
	waitFor(t, "every delivery", 20*time.Second, func() bool { return a.count()+b.count() >= len(ds) })
	waitFor(t, "commits", 5*time.Second, func() bool { return sum(committed(t, o, "cp.github")) == int64(len(ds)) })
	time.Sleep(200 * time.Millisecond)

	sa, sb := a.snapshot(), b.snapshot()
	if len(sa) == 0 || len(sb) == 0 {
		t.Fatalf("partitions not split: %d and %d deliveries", len(sa), len(sb))
	}
	for _, d := range ds {
		if n := sa[d.DeliveryID] + sb[d.DeliveryID]; n != 1 {
			t.Errorf("%s handled %d times", d.DeliveryID, n)
		}
	}
}

func TestKilledConsumerBatchIsRedelivered(t *testing.T) {
	t.Parallel()
	o := testOptions(t, newCluster(t))
	o.Partitions = 4
	mustEnsure(t, o)

	// A blocks in its handler, as if the store hung, until it is killed.
	entered := make(chan []model.Delivery, 1)
	a := start(t, o, Handlers{Deliveries: func(ctx context.Context, ds []model.Delivery) error {
		select {
		case entered <- ds:
		default:
		}
		<-ctx.Done()
		return ctx.Err()
	}})
	b := newRecorder()
	start(t, o, Handlers{Deliveries: func(_ context.Context, ds []model.Delivery) error { b.add(ds); return nil }})
	waitStable(t, o, 2)

	ds := deliveries(0, 70)
	produce(t, o, ds)
	var held []model.Delivery
	select {
	case held = <-entered:
	case <-time.After(20 * time.Second):
		t.Fatal("consumer A got no batch")
	}
	a.stop(t) // killed mid-batch: nothing of its batch is committed

	waitFor(t, "every delivery at B", 30*time.Second, func() bool { return b.count() == len(ds) })
	got := b.snapshot()
	for _, d := range held {
		if got[d.DeliveryID] == 0 {
			t.Errorf("%s of the killed batch was lost", d.DeliveryID)
		}
	}
	waitFor(t, "commits", 5*time.Second, func() bool { return sum(committed(t, o, "cp.github")) == int64(len(ds)) })
}

func TestUndecodableMessageIsDeadLettered(t *testing.T) {
	t.Parallel()
	o := testOptions(t, newCluster(t))
	o.Partitions = 1
	mustEnsure(t, o)
	good := deliveries(0, 2)
	produce(t, o, good[:1])
	w := &kafka.Writer{Addr: kafka.TCP(o.Brokers...), RequiredAcks: kafka.RequireAll, BatchTimeout: time.Millisecond}
	defer w.Close()
	ctx := context.Background()
	if err := w.WriteMessages(ctx,
		kafka.Message{Topic: "cp.github", Key: []byte("acme/api"), Value: []byte("not json {")},
		kafka.Message{Topic: "cp.deploy", Key: []byte("api"), Value: []byte(`{"v":1,"deploy":{"service":"api"}}`)},
	); err != nil {
		t.Fatal(err)
	}
	produce(t, o, good[1:])

	rec := newRecorder()
	var mu sync.Mutex
	var dead []DeadLetter
	var deploys int
	start(t, o, Handlers{
		Deliveries: func(_ context.Context, ds []model.Delivery) error {
			var gh []model.Delivery
			for _, d := range ds {
				if d.Source == model.SourceDeploy {
					mu.Lock()
					deploys++
					mu.Unlock()
				} else {
					gh = append(gh, d)
				}
			}
			rec.add(gh)
			return nil
		},
		DeadLetter: func(_ context.Context, dl []DeadLetter) error {
			mu.Lock()
			dead = append(dead, dl...)
			mu.Unlock()
			return nil
		},
	})
	waitFor(t, "both good deliveries", 20*time.Second, func() bool { return rec.count() == 2 })
	waitFor(t, "two dead letters", 5*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return len(dead) == 2 })
	waitFor(t, "commit past the bad message", 5*time.Second, func() bool {
		return committed(t, o, "cp.github")[0] == 3 && committed(t, o, "cp.deploy")[0] == 1
	})

	mu.Lock()
	if deploys != 0 {
		t.Errorf("%d bad deploys handled", deploys)
	}
	byTopic := map[string]DeadLetter{}
	for _, d := range dead {
		byTopic[d.Topic] = d
	}
	mu.Unlock()
	g := byTopic["cp.github"]
	if g.Offset != 1 || string(g.Value) != "not json {" || !strings.Contains(g.Reason, "undecodable") || g.Source != "github" {
		t.Errorf("github dead letter: %+v", g)
	}
	if m := g.Model(); m.DeliveryID != "kafka:cp.github/0/1" || m.Source != "github" || m.Reason == "" {
		t.Errorf("dead letter row: %+v", m)
	}
	if d := byTopic["cp.deploy"]; !strings.Contains(d.Reason, "without id") {
		t.Errorf("deploy dead letter: %+v", d)
	}

	// The dead-letter topic has both, with the reason and origin.
	var dm []kafka.Message
	waitFor(t, "dead-letter topic", 5*time.Second, func() bool { dm = readTopic(t, o, "cp.deadletter"); return len(dm) == 2 })
	for _, m := range dm {
		hdr := map[string]string{}
		for _, h := range m.Headers {
			hdr[h.Key] = string(h.Value)
		}
		if hdr[HeaderReason] == "" || hdr[HeaderTopic] == "" || hdr[HeaderOffset] == "" {
			t.Errorf("dead-letter message headers: %v", hdr)
		}
		if hdr[HeaderTopic] == "cp.github" && (string(m.Value) != "not json {" || string(m.Key) != "acme/api" || hdr[HeaderOffset] != "1") {
			t.Errorf("dead-letter message: %q %q %v", m.Key, m.Value, hdr)
		}
	}
}
