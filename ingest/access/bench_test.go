package access

import (
	"bytes"
	"io"
	"testing"

	"github.com/changeproof/changeproof/model"
)

// BenchmarkReadGeneric measures generic NDJSON parsing, reported as events/s.
func BenchmarkReadGeneric(b *testing.B) {
	const lines = 10_000
	input, err := io.ReadAll(&genericLines{n: lines})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(input)))
	b.ReportAllocs()
	events := 0
	for b.Loop() {
		res, err := Read(bytes.NewReader(input), Options{Now: fixedNow}, 5000, func([]model.AccessEvent) error { return nil })
		if err != nil || res.Accepted != lines {
			b.Fatalf("res %+v err %v", res, err)
		}
		events += res.Accepted
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
}
