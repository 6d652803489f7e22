package spool

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/changeproof/changeproof/internal/testkit/fixture"
	"github.com/changeproof/changeproof/model"
)

// segmentSeeds are segment bytes as the spool writes them: real GitHub
// payloads (the recorded templates), then torn and damaged copies.
func segmentSeeds() [][]byte {
	// The smallest recorded payload, and a short one: the fuzzer mutates
	// small inputs much faster.
	smallest := fixture.Templates()[0]
	for _, name := range fixture.Templates() {
		if len(fixture.Template(name)) < len(fixture.Template(smallest)) {
			smallest = name
		}
	}
	at := time.Date(2026, 3, 2, 10, 0, 0, 123456789, time.UTC)
	seg := appendRecord(nil, model.Delivery{Source: "github", Event: smallest, DeliveryID: "d-1",
		ReceivedAt: at, SHA256: "00", Body: fixture.Template(smallest)})
	seg = appendRecord(seg, model.Delivery{Source: "github", Event: "ping", DeliveryID: "d-2",
		ReceivedAt: at.Add(time.Second), Body: []byte(`{"zen":"Keep it logically awesome."}`)})
	// The same two as the receiver stores them: the first compressed.
	zseg, _ := appendCompressed(nil, nil, model.Delivery{Source: "github", Event: smallest, DeliveryID: "d-1",
		ReceivedAt: at, SHA256: "00", Body: fixture.Template(smallest)})
	zseg, _ = appendCompressed(zseg, nil, model.Delivery{Source: "github", Event: "ping", DeliveryID: "d-2",
		ReceivedAt: at.Add(time.Second), Body: []byte(`{"zen":"Keep it logically awesome."}`)})
	seeds := [][]byte{seg, seg[:len(seg)-1], seg[:7], nil, zseg, zseg[:len(zseg)/2]}
	flipped := append([]byte(nil), seg...)
	flipped[20] ^= 0x40
	seeds = append(seeds, flipped)
	huge := append([]byte(nil), seg[:8]...)
	huge[3] = 0x3f // a length near the 1 GiB cap, with nothing behind it
	seeds = append(seeds, huge)
	return seeds
}

// readAll reads records until the first error.
func readAll(b []byte) (ds []model.Delivery, consumed int, err error) {
	r := &countingReader{r: bytes.NewReader(b)}
	for {
		start := r.n
		d, err := readRecord(r)
		if err != nil {
			return ds, int(start), err
		}
		ds = append(ds, d)
	}
}

// readRecord never panics and fails only as documented; a record it reads
// encodes back to a record that reads the same; validLength is exactly the
// prefix of whole, intact records.
func FuzzSegment(f *testing.F) {
	for _, s := range segmentSeeds() {
		f.Add(s)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		ds, consumed, err := readAll(b)
		if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, errCorrupt) {
			t.Fatalf("readRecord: undocumented error %v", err)
		}
		for _, d := range ds {
			again, err := readRecord(bytes.NewReader(appendRecord(nil, d)))
			if err != nil {
				t.Fatalf("a record read from %q does not read back after encoding: %v", b, err)
			}
			if !bytes.Equal(appendRecord(nil, again), appendRecord(nil, d)) {
				t.Fatalf("round trip changed %+v into %+v", d, again)
			}
			z, _ := appendCompressed(nil, nil, d)
			if again, err := readRecord(bytes.NewReader(z)); err != nil || !bytes.Equal(appendRecord(nil, again), appendRecord(nil, d)) {
				t.Fatalf("a record read from %q does not read back after compressing: %v", b, err)
			}
		}
		path := filepath.Join(dir, "segment")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		fh, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer fh.Close()
		n, err := validLength(fh)
		if err != nil {
			t.Fatalf("validLength: %v", err)
		}
		if n != int64(consumed) {
			t.Fatalf("validLength %d, but whole records end at %d", n, consumed)
		}
	})
}

// A damaged length in a short segment costs what the segment holds, not
// the up to 1 GiB it claims.
func TestDamagedLengthDoesNotAllocateIt(t *testing.T) {
	h := []byte{0, 0, 0, 0x3f, 0, 0, 0, 0, '{', '}'}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := readRecord(bytes.NewReader(h))
	runtime.ReadMemStats(&after)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("readRecord: %v, want a torn record", err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 4<<20 {
		t.Errorf("a 10-byte segment claiming a %d-byte record allocated %d bytes", 0x3f<<24, grew)
	}
}
