package pipeline_test

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/pipeline"
)

// blockingLog holds every append until release is closed.
type blockingLog struct{ release chan struct{} }

func (b *blockingLog) Enqueue(context.Context, []model.Delivery) (func(context.Context) error, error) {
	return func(context.Context) error { <-b.release; return nil }, nil
}

// TestPressureYieldsToAppends: background work waits while an append is
// under way, at most its bound; goes at once when the receivers are quiet;
// and while busy only half the Ps' worth of workers run at once.
func TestPressureYieldsToAppends(t *testing.T) {
	ctx := context.Background()
	p := &pipeline.Pressure{Quiet: 10 * time.Millisecond}
	start := time.Now()
	p.Yield(ctx, "test", time.Second)
	if d := time.Since(start); d > 50*time.Millisecond {
		t.Fatalf("Yield with the receivers idle took %v", d)
	}

	log := &blockingLog{release: make(chan struct{})}
	in := &pipeline.Intake{Log: log, Pressure: p}
	appended := make(chan struct{})
	go func() {
		defer close(appended)
		_, _ = in.Append(ctx, []model.Delivery{delivery("ping", "p1", []byte(`{}`))})
	}()
	for !p.Busy() {
		time.Sleep(time.Millisecond)
	}
	start = time.Now()
	p.Yield(ctx, "test", 100*time.Millisecond)
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Fatalf("Yield with an append under way returned after %v, want its bound 100ms", d)
	}

	// While busy, Share lets half the Ps (at least one) work at once.
	want := max(1, (runtime.GOMAXPROCS(0)+1)/2)
	var running, most atomic.Int32
	var wg sync.WaitGroup
	for range 4 * want {
		wg.Add(1)
		go func() {
			defer wg.Done()
			done := p.Share(ctx, "test", time.Millisecond)
			n := running.Add(1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			time.Sleep(5 * time.Millisecond)
			running.Add(-1)
			done()
		}()
	}
	wg.Wait()
	if got := most.Load(); got > int32(want) {
		t.Errorf("%d workers ran at once while busy, want at most %d", got, want)
	}
	close(log.release)
	<-appended
	time.Sleep(20 * time.Millisecond)
	if p.Busy() {
		t.Error("still busy after the append ended and the quiet time passed")
	}
}
