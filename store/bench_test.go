package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/store/storetest"
)

// BenchmarkWrite measures one durable batch write (what one group commit
// costs) by batch size; ns/op divided by the size is the cost per delivery.
func BenchmarkWrite(b *testing.B) {
	for _, size := range []int{1, 10, 100, 1000} {
		b.Run(fmt.Sprintf("deliveries=%d", size), func(b *testing.B) {
			s := storetest.Open(b)
			ctx := context.Background()
			body := make([]byte, 20<<10)
			for i := range body {
				body[i] = 'a' + byte(i%26)
			}
			n := 0
			for b.Loop() {
				var batch model.Batch
				for i := 0; i < size; i++ {
					n++
					id := fmt.Sprintf("d-%d", n)
					batch.Deliveries = append(batch.Deliveries, model.Delivery{Source: "github", Event: "push", DeliveryID: id,
						ReceivedAt: time.Now(), SHA256: "x", Body: body})
					batch.Pushes = append(batch.Pushes, model.Push{Repo: "acme/api", Ref: "refs/heads/main", Before: id, After: id,
						DeliveryID: id, DefaultBranch: "main", PushedAt: time.Now()})
				}
				if _, err := s.KnownSHA(ctx, "github", []string{"x"}); err != nil {
					b.Fatal(err)
				}
				if err := s.Write(ctx, batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n)/1e3, "µs/delivery")
		})
	}
}
