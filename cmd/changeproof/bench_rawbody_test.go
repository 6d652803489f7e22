package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/changeproof/changeproof/store/chdb"
	"github.com/changeproof/changeproof/store/storetest"
)

// rawBodyRow is the raw log's row without its chain columns.
type rawBodyRow struct {
	Source     string    `json:"source"`
	Event      string    `json:"event"`
	DeliveryID string    `json:"delivery_id"`
	ReceivedAt time.Time `json:"received_at"`
	SHA256     string    `json:"sha256"`
	Body       string    `json:"body"`
}

// rawBodyVariants are the ways BenchmarkRawBodyInsert inserts the same
// rows: the body column's codec, whether the rows come in the table's
// order, and, for the cost of everything but the body, no body at all.
var rawBodyVariants = []struct {
	name, codec    string
	sorted, noBody bool
}{
	{name: "zstd3", codec: "ZSTD(3)"}, // raw_deliveries as migrated
	{name: "zstd1", codec: "ZSTD(1)"},
	{name: "lz4", codec: "LZ4"},
	{name: "zstd3-sorted", codec: "ZSTD(3)", sorted: true},
	{name: "no-body", codec: "ZSTD(3)", noBody: true},
}

// BenchmarkRawBodyInsert measures the engine's part of loading webhook
// deliveries into the raw log: 9,000 deliveries of the change mix
// (changeDeliveries: review, merged pull request, merge push; 7-30 KB
// bodies), inserted 600 at a time as the loader does (RowBinary through
// a memory file), into one copy of raw_deliveries per variant, the
// variants taking turns batch by batch so the machine's noise falls on
// each alike; then one merge of each table's parts. Per variant: µs per
// delivery for the Go encoding and for the whole insert, the merge, and
// the body column's bytes on disk per delivery.
// Run: go test -run '^$' -bench RawBodyInsert -benchtime 1x ./cmd/changeproof
func BenchmarkRawBodyInsert(b *testing.B) {
	for b.Loop() {
		s := storetest.Open(b)
		db := storetest.DB(s)
		cdb, ok := db.(*chdb.DB)
		if !ok {
			b.Skip("needs the embedded engine")
		}
		ctx := context.Background()
		for i, v := range rawBodyVariants {
			if err := db.Exec(ctx, fmt.Sprintf("CREATE TABLE raw_v%d AS raw_deliveries", i), nil); err != nil {
				b.Fatal(err)
			}
			if err := db.Exec(ctx, fmt.Sprintf("ALTER TABLE raw_v%d MODIFY COLUMN body String CODEC(%s)", i, v.codec), nil); err != nil {
				b.Fatal(err)
			}
		}
		ds := changeDeliveries(3000, 50)
		const batch = 600
		encode := make([]time.Duration, len(rawBodyVariants))
		insert := make([]time.Duration, len(rawBodyVariants))
		at := time.Now().UTC()
		for r := 0; (r+1)*batch <= len(ds); r++ {
			rows := make([]rawBodyRow, 0, batch)
			for j, d := range ds[r*batch : (r+1)*batch] {
				// Ids in no order, as GitHub's UUIDs arrive.
				id := fmt.Sprintf("%08x-%d", uint32((r*batch+j)*2654435761), r*batch+j)
				rows = append(rows, rawBodyRow{"github", d.event, id, at, "x", string(d.body)})
			}
			for k := range rawBodyVariants {
				i := (k + r) % len(rawBodyVariants)
				v := rawBodyVariants[i]
				rs := slices.Clone(rows)
				if v.sorted {
					slices.SortFunc(rs, func(a, b rawBodyRow) int { return strings.Compare(a.DeliveryID, b.DeliveryID) })
				}
				if v.noBody {
					for n := range rs {
						rs[n].Body = ""
					}
				}
				t0 := time.Now()
				ins, err := cdb.EncodeInsert(ctx, fmt.Sprintf("raw_v%d", i), rs)
				if err != nil {
					b.Fatal(err)
				}
				encode[i] += time.Since(t0)
				if err := cdb.ExecInsert(ctx, ins); err != nil {
					b.Fatal(err)
				}
				insert[i] += time.Since(t0)
			}
		}
		n := float64(len(ds) / batch * batch)
		for i, v := range rawBodyVariants {
			t0 := time.Now()
			if err := db.Exec(ctx, fmt.Sprintf("OPTIMIZE TABLE raw_v%d FINAL", i), nil); err != nil {
				b.Fatal(err)
			}
			merge := time.Since(t0)
			var size []struct {
				Compressed   uint64 `json:"c"`
				Uncompressed uint64 `json:"u"`
			}
			if err := db.Query(ctx, fmt.Sprintf(`SELECT sum(data_compressed_bytes) AS c, sum(data_uncompressed_bytes) AS u
FROM system.columns WHERE database = currentDatabase() AND table = 'raw_v%d' AND name = 'body'`, i), nil, &size); err != nil || len(size) != 1 {
				b.Fatalf("body size: %v", err)
			}
			perDelivery := float64(insert[i].Microseconds()) / n
			b.ReportMetric(perDelivery, v.name+"-µs/delivery")
			b.ReportMetric(float64(size[0].Compressed)/n, v.name+"-B/delivery")
			b.Logf("%-12s Go encoding %4.1f µs/delivery, insert %5.1f µs/delivery; merge of all parts %5.1f µs/delivery; body on disk %6.0f B/delivery (%.3f of %0.f)",
				v.name, float64(encode[i].Microseconds())/n, perDelivery, float64(merge.Microseconds())/n,
				float64(size[0].Compressed)/n, float64(size[0].Compressed)/float64(max(size[0].Uncompressed, 1)), float64(size[0].Uncompressed)/n)
		}
	}
}
