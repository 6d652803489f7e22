package pipeline_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/pipeline"
)

// fakeWall is a wall clock the test moves.
type fakeWall struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeWall) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeWall) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fakeRules stands for rules.Runner's Mark and Judged.
type fakeRules struct {
	mu             sync.Mutex
	marked, judged uint64
}

func (r *fakeRules) Repos([]string)                              { r.mu.Lock(); r.marked++; r.mu.Unlock() }
func (r *fakeRules) Access(context.Context, []model.AccessEvent) {}
func (r *fakeRules) Mark() uint64                                { r.mu.Lock(); defer r.mu.Unlock(); return r.marked }
func (r *fakeRules) Judged() uint64                              { r.mu.Lock(); defer r.mu.Unlock(); return r.judged }
func (r *fakeRules) judgeAll()                                   { r.mu.Lock(); r.judged = r.marked; r.mu.Unlock() }

// TestWatermarkEmbedded: the clock is the arrival of the oldest accepted
// record not yet stored and judged; the wall clock when none waits.
func TestWatermarkEmbedded(t *testing.T) {
	ctx := context.Background()
	wall := &fakeWall{t: pipeTime}
	rules := &fakeRules{}
	wm := &pipeline.Watermark{Mark: rules.Mark, Judged: rules.Judged, Now: wall.Now}
	log := &fakeLog{}
	in := &pipeline.Intake{Log: log, Track: true, Watermark: wm}
	loader := &pipeline.Loader{Deriver: &pipeline.Deriver{Store: &fakeWriter{}}, Intake: in, Judge: rules, Watermark: wm}
	pr, review, push, _, _ := pipeDeliveries()

	if got := wm.Clock(); !got.Equal(pipeTime) {
		t.Fatalf("idle clock = %v, want the wall clock %v", got, pipeTime)
	}
	if _, err := in.Append(ctx, []model.Delivery{push}); err != nil { // accepted at t
		t.Fatal(err)
	}
	wall.Advance(time.Second)
	if _, err := in.Append(ctx, []model.Delivery{pr, review}); err != nil { // accepted at t+1s
		t.Fatal(err)
	}
	wall.Advance(time.Minute)
	if got := wm.Clock(); !got.Equal(pipeTime) {
		t.Fatalf("clock with the push on its way = %v, want its arrival %v", got, pipeTime)
	}
	// The push is stored, not yet judged: the clock stays.
	if err := loader.Load(ctx, log.recs[:1]); err != nil {
		t.Fatal(err)
	}
	if got := wm.Clock(); !got.Equal(pipeTime) {
		t.Fatalf("clock with the push stored, not judged = %v, want %v", got, pipeTime)
	}
	rules.judgeAll()
	if got, want := wm.Clock(), pipeTime.Add(time.Second); !got.Equal(want) {
		t.Fatalf("clock with the push judged = %v, want the next arrival %v", got, want)
	}
	if err := loader.Load(ctx, log.recs[1:]); err != nil {
		t.Fatal(err)
	}
	rules.judgeAll()
	if got, want := wm.Clock(), wall.Now(); !got.Equal(want) {
		t.Fatalf("clock with everything judged = %v, want the wall clock %v", got, want)
	}

	// A backlog left by an earlier run holds the clock until released,
	// and the clock never goes back.
	release := wm.Hold(pipeTime)
	if got := wm.Clock(); !got.Equal(wall.Now()) {
		t.Errorf("clock went back to %v", got)
	}
	wall.Advance(time.Minute)
	if got, want := wm.Clock(), pipeTime.Add(time.Minute+time.Second); !got.Equal(want) {
		t.Errorf("clock while the backlog loads = %v, want it held at %v", got, want)
	}
	release()
	rules.judgeAll()
	if got := wm.Clock(); !got.Equal(wall.Now()) {
		t.Errorf("clock after the backlog = %v, want %v", got, wall.Now())
	}

	// A record the log refused is not waited for.
	log.err = context.DeadlineExceeded
	if _, err := in.Append(ctx, []model.Delivery{delivery("ping", "refused", []byte(`{}`))}); err == nil {
		t.Fatal("append to a failing log succeeded")
	}
	wall.Advance(time.Second)
	if got := wm.Clock(); !got.Equal(wall.Now()) {
		t.Errorf("clock after a refused append = %v, want %v", got, wall.Now())
	}
}

// TestWatermarkDistributed: the consumer's consumed-through times count
// once what was stored by then is judged.
func TestWatermarkDistributed(t *testing.T) {
	wall := &fakeWall{t: pipeTime.Add(time.Hour)}
	rules := &fakeRules{}
	wm := &pipeline.Watermark{Mark: rules.Mark, Judged: rules.Judged, Now: wall.Now, Distributed: true}
	start := wm.Clock()
	rules.Repos(nil)
	wm.Through(pipeTime.Add(time.Hour + time.Second))
	wall.Advance(time.Minute)
	if got := wm.Clock(); !got.Equal(start) {
		t.Fatalf("clock before the batch is judged = %v, want %v", got, start)
	}
	rules.judgeAll()
	if got, want := wm.Clock(), pipeTime.Add(time.Hour+time.Second); !got.Equal(want) {
		t.Fatalf("clock = %v, want %v", got, want)
	}
	rules.Repos(nil)
	wm.Through(pipeTime.Add(time.Hour + 30*time.Second))
	if got, want := wm.Clock(), pipeTime.Add(time.Hour+time.Second); !got.Equal(want) {
		t.Fatalf("clock before the second batch is judged = %v, want %v", got, want)
	}
	rules.judgeAll()
	if got, want := wm.Clock(), pipeTime.Add(time.Hour+30*time.Second); !got.Equal(want) {
		t.Fatalf("clock = %v, want %v", got, want)
	}
}
