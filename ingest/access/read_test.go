package access

import (
	"errors"
	"fmt"
	"io"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/changeproof/changeproof/model"
)

// genericLines is an io.Reader that makes n generic NDJSON lines on the fly,
// about 400 bytes each, so the input never exists in memory whole.
type genericLines struct {
	n, next int
	pending []byte
}

func (g *genericLines) Read(p []byte) (int, error) {
	if len(g.pending) == 0 {
		if g.next >= g.n {
			return 0, io.EOF
		}
		g.pending = fmt.Appendf(g.pending[:0],
			`{"id":"ev-%07d","time":"2026-03-02T10:%02d:%02d.%06dZ","principal":"user%03d@acme.io","system":"prod-db",`+
				`"action":"psql connect database=payments_ledger_primary role=readonly application_name=psql-%07d","result":"%s",`+
				`"ticket":"OPS-%d","source_ip":"10.%d.%d.%d","source":"pgaudit csvlog /var/lib/postgresql/16/main/log/postgresql-2026-03-02_100000.csv"}`+"\n",
			g.next, g.next/60%60, g.next%60, g.next%1000000, g.next%500, g.next,
			[]string{"success", "failure"}[g.next%7/6], g.next, g.next>>16&255, g.next>>8&255, g.next&255)
		g.next++
	}
	n := copy(p, g.pending)
	g.pending = g.pending[n:]
	return n, nil
}

func TestReadBoundedMemory(t *testing.T) {
	const lines, batch, limit = 100_000, 5000, 64 << 20
	runtime.GC()
	var ms runtime.MemStats
	maxInuse := uint64(0)
	next := 0
	batches := 0
	res, err := Read(&genericLines{n: lines}, Options{Now: fixedNow}, batch, func(evs []model.AccessEvent) error {
		batches++
		if len(evs) > batch {
			t.Fatalf("batch of %d", len(evs))
		}
		for _, ev := range evs {
			if want := fmt.Sprintf("ev-%07d", next); ev.ID != want {
				t.Fatalf("event %d has id %s, want %s", next, ev.ID, want)
			}
			next++
		}
		runtime.ReadMemStats(&ms)
		maxInuse = max(maxInuse, ms.HeapInuse)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Accepted != lines || next != lines || len(res.Rejected) != 0 || batches != lines/batch {
		t.Fatalf("accepted %d, seen %d, rejected %v, %d batches", res.Accepted, next, res.Rejected[:min(3, len(res.Rejected))], batches)
	}
	// Holding every event would take ~100 MB (the raw lines alone are 40
	// MB); one batch is ~4 MB.
	t.Logf("max HeapInuse %.1f MiB over %d batches", float64(maxInuse)/(1<<20), batches)
	if maxInuse > limit {
		t.Errorf("HeapInuse reached %d bytes, over %d: Read is not streaming", maxInuse, limit)
	}
}

// TestBoundedMemoryDetectsRetention shows the memory check can fail: the
// same stream, with every event kept, goes over the bound.
func TestBoundedMemoryDetectsRetention(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates ~100 MB")
	}
	var kept []model.AccessEvent
	var ms runtime.MemStats
	maxInuse := uint64(0)
	_, err := Read(&genericLines{n: 100_000}, Options{Now: fixedNow}, 5000, func(evs []model.AccessEvent) error {
		kept = append(kept, evs...)
		runtime.ReadMemStats(&ms)
		maxInuse = max(maxInuse, ms.HeapInuse)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if maxInuse <= 64<<20 {
		t.Errorf("keeping all %d events stayed under 64 MiB (%d): the bound proves nothing", len(kept), maxInuse)
	}
}

func TestReadLongLine(t *testing.T) {
	good := func(id string) string {
		return `{"id":"` + id + `","time":"2026-03-02T10:00:00Z","principal":"a","system":"s","action":"x","result":"success"}`
	}
	long := `{"id":"` + strings.Repeat("y", MaxLineBytes) + `"}`
	exact := `{"id":"` + strings.Repeat("z", MaxLineBytes-9) + `"}` // MaxLineBytes long: not too long
	input := good("a") + "\n" + long + "\n" + good("b") + "\n" + exact + "\r\n" + long
	evs, res := readAll(t, input, Options{Now: fixedNow}, 10)
	if len(evs) != 2 || evs[0].ID != "a" || evs[1].ID != "b" {
		t.Fatalf("events %v", evs)
	}
	want := []Rejected{
		{2, "line too long: over 1048576 bytes"},
		{4, "time: required; principal: required; system: required (the line has none and no default ?system= was given); action: required; result: required"},
		{5, "line too long: over 1048576 bytes"},
	}
	if !reflect.DeepEqual(res.Rejected, want) {
		t.Errorf("rejected %+v\nwant %+v", res.Rejected, want)
	}
}

func TestReadEmitErrorStops(t *testing.T) {
	boom := errors.New("disk full")
	calls := 0
	res, err := Read(&genericLines{n: 100}, Options{Now: fixedNow}, 10, func(evs []model.AccessEvent) error {
		calls++
		if calls == 3 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if res.Accepted != 20 || calls != 3 {
		t.Errorf("accepted %d after %d calls, want 20 after 3", res.Accepted, calls)
	}
}

func TestReadLastBatchEmitError(t *testing.T) {
	boom := errors.New("disk full")
	res, err := Read(&genericLines{n: 5}, Options{Now: fixedNow}, 10, func([]model.AccessEvent) error { return boom })
	if !errors.Is(err, boom) || res.Accepted != 0 {
		t.Errorf("res %+v err %v", res, err)
	}
}

func TestReadReaderError(t *testing.T) {
	boom := errors.New("connection reset")
	r := io.MultiReader(io.LimitReader(&genericLines{n: 3}, 1<<20), errReader{boom})
	var got int
	res, err := Read(r, Options{Now: fixedNow}, 10, func(evs []model.AccessEvent) error {
		got += len(evs)
		return nil
	})
	if !errors.Is(err, boom) || err.Error() != "reading line 4: connection reset" {
		t.Fatalf("err = %v", err)
	}
	if got != 3 || res.Accepted != 3 {
		t.Errorf("emitted %d, accepted %d; want the 3 lines before the error", got, res.Accepted)
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func TestReadDefaultBatchSize(t *testing.T) {
	var sizes []int
	res, err := Read(&genericLines{n: 2500}, Options{Now: fixedNow}, 0, func(evs []model.AccessEvent) error {
		sizes = append(sizes, len(evs))
		return nil
	})
	if err != nil || res.Accepted != 2500 || !reflect.DeepEqual(sizes, []int{1000, 1000, 500}) {
		t.Fatalf("res %+v err %v sizes %v", res, err, sizes)
	}
}

func TestReadEmpty(t *testing.T) {
	called := false
	res, err := Read(strings.NewReader("\n \n\t\n"), Options{}, 10, func([]model.AccessEvent) error {
		called = true
		return nil
	})
	if err != nil || called || res.Accepted != 0 || res.Skipped != 0 || len(res.Rejected) != 0 {
		t.Errorf("res %+v err %v called %v", res, err, called)
	}
}

// repeatReader yields prefix, then n bytes of c, then suffix.
type repeatReader struct {
	prefix, suffix string
	c              byte
	n              int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	switch {
	case r.prefix != "":
		n := copy(p, r.prefix)
		r.prefix = r.prefix[n:]
		return n, nil
	case r.n > 0:
		n := min(len(p), r.n)
		for i := range n {
			p[i] = r.c
		}
		r.n -= n
		return n, nil
	case r.suffix != "":
		n := copy(p, r.suffix)
		r.suffix = r.suffix[n:]
		return n, nil
	}
	return 0, io.EOF
}

func TestReadHugeLineNotBuffered(t *testing.T) {
	good := `{"id":"after","time":"2026-03-02T10:00:00Z","principal":"a","system":"s","action":"x","result":"success"}`
	r := &repeatReader{prefix: `{"id":"`, c: 'y', n: 256 << 20, suffix: "\"}\n" + good + "\n"}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var got []model.AccessEvent
	res, err := Read(r, Options{Now: fixedNow}, 10, func(b []model.AccessEvent) error {
		got = append(got, b...)
		return nil
	})
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != "after" {
		t.Fatalf("events %+v", got)
	}
	if !reflect.DeepEqual(res.Rejected, []Rejected{{1, "line too long: over 1048576 bytes"}}) {
		t.Errorf("rejected %+v", res.Rejected)
	}
	// A 256 MiB line read through: allocation stays near one max line.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
		t.Errorf("allocated %d bytes reading a 256 MiB line: it was buffered", alloc)
	}
}

func TestReadByteOrderMark(t *testing.T) {
	line := "Mar  2 10:15:03 bastion sshd[1]: Accepted publickey for a from 10.0.0.5 port 22 ssh2"
	evs, res := readAll(t, "\xef\xbb\xbf"+line+"\n", sshdOptions(), 10)
	if len(evs) != 1 || len(res.Rejected) != 0 || evs[0].Raw != line {
		t.Fatalf("events %+v result %+v", evs, res)
	}
}
