package ingest_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/changeproof/changeproof/ingest"
	"github.com/changeproof/changeproof/ingest/spool"
	"github.com/changeproof/changeproof/internal/testkit/fixture"
	"github.com/changeproof/changeproof/model"
)

// BenchmarkCommitterSpool measures the group commit into the spool (fsync
// on) alone, the receivers' durable write without HTTP, store or engine:
// 64 senders, each submitting one webhook delivery (the 7-30 KB recorded
// payloads) and waiting for it to be durable. It reports deliveries/s, the
// process's CPU per delivery (most of it the spool's compression) and
// deliveries per durable write.
// Run: go test -run '^$' -bench CommitterSpool -benchtime 20000x ./ingest
func BenchmarkCommitterSpool(b *testing.B) {
	var bodies [][]byte
	for _, name := range fixture.Templates() {
		if body := fixture.Template(name); len(body) >= 7<<10 {
			bodies = append(bodies, body)
		}
	}
	sp, err := spool.Open(b.TempDir(), spool.Options{MaxBacklog: 1 << 40})
	if err != nil {
		b.Fatal(err)
	}
	defer sp.Close()
	c := ingest.NewCommitter(sp, 1000)
	defer c.Close()
	ctx := context.Background()
	var next atomic.Int64
	var wg sync.WaitGroup
	cpu0 := processCPU()
	b.ResetTimer()
	for g := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				d := model.Delivery{Source: "github", Event: "pull_request", DeliveryID: fmt.Sprintf("s%d-%d", g, i),
					ReceivedAt: time.Now(), SHA256: "x", Body: bodies[int(i)%len(bodies)]}
				if err := c.Submit(ctx, d); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	cpu := processCPU() - cpu0
	st := c.Stats()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/delivery")
	b.ReportMetric(float64(st.Deliveries)/float64(max(st.Batches, 1)), "deliveries/write")
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
