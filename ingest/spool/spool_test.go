package spool

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/changeproof/changeproof/model"
)

func delivery(i int) model.Delivery {
	return model.Delivery{Source: "github", Event: "push", DeliveryID: fmt.Sprintf("d-%04d", i),
		ReceivedAt: time.Date(2026, 1, 1, 0, 0, i, 1234, time.UTC), SHA256: fmt.Sprintf("%064d", i),
		Body: []byte(fmt.Sprintf(`{"n":%d,"pad":"%0*d"}`, i, 100+i%50, 0))}
}

// collector is a load function that records what it was given.
type collector struct {
	mu   sync.Mutex
	got  []model.Delivery
	fail int // fail this many calls first
	n    int // calls
}

func (c *collector) load(_ context.Context, ds []model.Delivery) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	if c.fail > 0 {
		c.fail--
		return errors.New("store unavailable")
	}
	for _, d := range ds {
		d.Body = append([]byte(nil), d.Body...)
		c.got = append(c.got, d)
	}
	return nil
}

func (c *collector) ids() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, d := range c.got {
		out = append(out, d.DeliveryID)
	}
	return out
}

func run(t *testing.T, s *Spool, c *collector) func() {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, c.load) }()
	return func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("Run: %v", err)
		}
	}
}

func accept(t *testing.T, s *Spool, from, to int) []model.Delivery {
	t.Helper()
	var ds []model.Delivery
	for i := from; i < to; i++ {
		ds = append(ds, delivery(i))
	}
	if err := s.Accept(context.Background(), ds); err != nil {
		t.Fatal(err)
	}
	return ds
}

func ids(from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("d-%04d", i))
	}
	return out
}

func waitLoaded(t *testing.T, s *Spool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.WaitLoaded(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestAcceptedDeliveriesAreLoadedInOrderUnchanged(t *testing.T) {
	s, err := Open(t.TempDir(), Options{MaxBatch: 7})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c := &collector{}
	stop := run(t, s, c)
	defer stop()
	var want []model.Delivery
	for b := range 5 {
		want = append(want, accept(t, s, b*10, b*10+10)...)
	}
	waitLoaded(t, s)
	if !reflect.DeepEqual(c.got, want) {
		t.Fatalf("loaded %v\nwant %v", c.ids(), ids(0, 50))
	}
	if c.n < 50/7 {
		t.Errorf("%d loads for 50 deliveries with MaxBatch 7", c.n)
	}
	if s.Backlog() != 0 {
		t.Errorf("backlog %d after loading", s.Backlog())
	}
}

func TestRestartResumesAfterTheLoadedPosition(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := &collector{}
	stop := run(t, s, c)
	accept(t, s, 0, 5)
	waitLoaded(t, s)
	stop()
	accept(t, s, 5, 8) // accepted, not loaded: the process dies here
	s.Close()

	s, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c2 := &collector{}
	stop = run(t, s, c2)
	defer stop()
	accept(t, s, 8, 9)
	waitLoaded(t, s)
	if got := c2.ids(); !reflect.DeepEqual(got, ids(5, 9)) {
		t.Errorf("after restart loaded %v, want %v", got, ids(5, 9))
	}
}

// A crash in the middle of a write leaves a torn record: it was never
// acknowledged, and must not stop what follows.
func TestTornTailIsCutOff(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	accept(t, s, 0, 3)
	s.Close()
	seg := filepath.Join(dir, fmt.Sprintf("%020d.log", 0))
	whole, _ := os.ReadFile(seg)
	torn := appendRecord(nil, delivery(99))
	f, _ := os.OpenFile(seg, os.O_APPEND|os.O_WRONLY, 0)
	f.Write(torn[:len(torn)/2])
	f.Close()

	s, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if st, _ := os.Stat(seg); st.Size() != int64(len(whole)) {
		t.Errorf("segment is %d bytes after recovery, want %d", st.Size(), len(whole))
	}
	c := &collector{}
	stop := run(t, s, c)
	defer stop()
	accept(t, s, 3, 5)
	waitLoaded(t, s)
	if got := c.ids(); !reflect.DeepEqual(got, ids(0, 5)) {
		t.Errorf("loaded %v, want %v", got, ids(0, 5))
	}
}

func TestCorruptRecordIsCutOff(t *testing.T) {
	dir := t.TempDir()
	s, _ := Open(dir, Options{})
	accept(t, s, 0, 2)
	accept(t, s, 2, 3)
	s.Close()
	seg := filepath.Join(dir, fmt.Sprintf("%020d.log", 0))
	b, _ := os.ReadFile(seg)
	b[len(b)-3] ^= 0xff // damage the last record's body
	os.WriteFile(seg, b, 0o640)
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c := &collector{}
	stop := run(t, s, c)
	defer stop()
	waitLoaded(t, s)
	if got := c.ids(); !reflect.DeepEqual(got, ids(0, 2)) {
		t.Errorf("loaded %v, want %v", got, ids(0, 2))
	}
}

func TestFailingLoadIsRetriedNeverSkipped(t *testing.T) {
	s, _ := Open(t.TempDir(), Options{})
	defer s.Close()
	c := &collector{fail: 2}
	stop := run(t, s, c)
	defer stop()
	accept(t, s, 0, 4)
	waitLoaded(t, s)
	if got := c.ids(); !reflect.DeepEqual(got, ids(0, 4)) || c.n != 3 {
		t.Errorf("loaded %v in %d calls, want %v in 3", got, c.n, ids(0, 4))
	}
}

func TestLoadedSegmentsAreDeleted(t *testing.T) {
	dir := t.TempDir()
	s, _ := Open(dir, Options{SegmentBytes: 1024})
	defer s.Close()
	c := &collector{}
	stop := run(t, s, c)
	defer stop()
	for b := range 20 {
		accept(t, s, b*3, b*3+3)
	}
	waitLoaded(t, s)
	if got := c.ids(); !reflect.DeepEqual(got, ids(0, 60)) {
		t.Fatalf("loaded %v", got)
	}
	ents, _ := os.ReadDir(dir)
	var segs int
	for _, e := range ents {
		if filepath.Ext(e.Name()) == ".log" {
			segs++
		}
	}
	if segs != 1 {
		t.Errorf("%d segments left after everything was loaded, want the current one", segs)
	}
}

func TestBacklogHoldsSendersBack(t *testing.T) {
	s, _ := Open(t.TempDir(), Options{MaxBacklog: 1000})
	defer s.Close()
	accept(t, s, 0, 10) // > 1000 bytes, nothing loading
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := s.Accept(ctx, []model.Delivery{delivery(10)}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Accept over the backlog: %v, want to wait until the deadline", err)
	}
	c := &collector{}
	stop := run(t, s, c)
	defer stop()
	accept(t, s, 10, 11) // the loader drains, the sender proceeds
	waitLoaded(t, s)
	if got := c.ids(); !reflect.DeepEqual(got, ids(0, 11)) {
		t.Errorf("loaded %v", got)
	}
}

func TestCloseDrainsThenRunReturns(t *testing.T) {
	s, _ := Open(t.TempDir(), Options{})
	accept(t, s, 0, 3)
	c := &collector{}
	done := make(chan error, 1)
	go func() { done <- s.Run(context.Background(), c.load) }()
	s.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := c.ids(); !reflect.DeepEqual(got, ids(0, 3)) {
		t.Errorf("loaded %v before returning", got)
	}
	if err := s.Accept(context.Background(), []model.Delivery{delivery(3)}); !errors.Is(err, ErrClosed) {
		t.Errorf("Accept after Close: %v", err)
	}
}

// Under load, deliveries that arrive within the linger go out in one load;
// after an idle spell a delivery is loaded at once.
func TestLoadsLingerUnderLoad(t *testing.T) {
	s, _ := Open(t.TempDir(), Options{Linger: 300 * time.Millisecond})
	defer s.Close()
	c := &collector{}
	stop := run(t, s, c)
	defer stop()
	time.Sleep(400 * time.Millisecond) // idle longer than the linger
	start := time.Now()
	accept(t, s, 0, 1)
	waitLoaded(t, s)
	if d := time.Since(start); d > 250*time.Millisecond {
		t.Errorf("first delivery after an idle spell loaded after %s", d)
	}
	for i := 1; i <= 5; i++ {
		accept(t, s, i, i+1)
	}
	waitLoaded(t, s)
	if got := c.ids(); !reflect.DeepEqual(got, ids(0, 6)) || c.n != 2 {
		t.Errorf("loaded %v in %d loads, want %v in 2", got, c.n, ids(0, 6))
	}
}

// TestFullBatchesDoNotLinger: when a batch's worth of records waits, the
// next load starts at once, whatever the linger: small records (access
// events) must not be loaded at MaxBatch per Linger.
func TestFullBatchesDoNotLinger(t *testing.T) {
	s, _ := Open(t.TempDir(), Options{Linger: time.Hour, MaxBatch: 10})
	defer s.Close()
	c := &collector{}
	stop := run(t, s, c)
	defer stop()
	accept(t, s, 0, 1) // the first load after an idle spell goes at once
	waitLoaded(t, s)
	accept(t, s, 1, 41)
	done := make(chan struct{})
	go func() { waitLoaded(t, s); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("40 waiting records were not loaded: full batches lingered")
	}
	if got := c.ids(); !reflect.DeepEqual(got, ids(0, 41)) || c.n != 5 {
		t.Errorf("loaded %v in %d loads, want %v in 5", got, c.n, ids(0, 41))
	}
}
