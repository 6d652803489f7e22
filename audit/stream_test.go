package audit

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/changeproof/changeproof/internal/csvsafe"
)

// walkSource hands its members over one at a time, as given (a Walker), and
// can read bundles in batches (a BundleBatcher).
type walkSource struct {
	*fakeSource
	walkErr    error // returned by Walk after the members
	mu         sync.Mutex
	batches    [][]string
	batchErr   error
	popCalled  bool
	walkCalled bool
}

func (w *walkSource) Population(ctx context.Context, pop string, from, to time.Time) ([]Member, error) {
	w.popCalled = true
	return w.fakeSource.Population(ctx, pop, from, to)
}

func (w *walkSource) Walk(_ context.Context, pop string, from, to time.Time, fn func(string, time.Time, []string) error) error {
	w.walkCalled = true
	w.gotPop, w.gotFrom, w.gotTo = pop, from, to
	hdr, _ := ColumnNames(pop)
	index := map[string]int{}
	for i, n := range hdr {
		index[n] = i
	}
	values := make([]string, len(hdr))
	for _, m := range w.members {
		for i := range values {
			values[i] = "stale" // the slice is reused: Export must copy what it keeps
		}
		for _, c := range m.Columns {
			values[index[c.Name]] = c.Value
		}
		for i := range values {
			if values[i] == "stale" {
				values[i] = ""
			}
		}
		if err := fn(m.Subject, m.OccurredAt, values); err != nil {
			return fmt.Errorf("source wraps it: %w", err)
		}
	}
	return w.walkErr
}

func (w *walkSource) Bundles(ctx context.Context, pop string, subjects []string) ([]any, error) {
	w.mu.Lock()
	w.batches = append(w.batches, append([]string(nil), subjects...))
	w.mu.Unlock()
	if w.batchErr != nil {
		return nil, w.batchErr
	}
	out := make([]any, len(subjects))
	for i, s := range subjects {
		b, err := w.fakeSource.Bundle(ctx, pop, s)
		if err != nil {
			return nil, err
		}
		out[i] = b
	}
	return out, nil
}

// TestExportFromWalkerEqualsFromPopulation: a source that streams its
// population and batches its bundles gives the same files as one that
// hands everything over at once.
func TestExportFromWalkerEqualsFromPopulation(t *testing.T) {
	from, to := period()
	ms := changes(250)
	sortBySubject(ms) // a Walker lists its members in subject order
	req := Request{From: from, To: to, Size: 30, Seed: "walk", Now: fixedNow(t0)}
	ws := &walkSource{fakeSource: &fakeSource{members: ms}}
	d1, m1 := export(t, ws, req)
	d2, m2 := export(t, &fakeSource{members: ms}, req)
	if ws.popCalled || !ws.walkCalled || ws.gotFrom != from || ws.gotTo != to {
		t.Errorf("Population called %v, Walk called %v with [%v, %v]", ws.popCalled, ws.walkCalled, ws.gotFrom, ws.gotTo)
	}
	if len(ws.batches) != 1 || !reflect.DeepEqual(ws.batches[0], m1.Sample) || len(ws.bundleCalls) != 30 {
		t.Errorf("batches %v, want one of the sample %v", ws.batches, m1.Sample)
	}
	for _, f := range append(m2.Reproducible, "summary.html", "manifest.json") {
		if !bytes.Equal(readFile(t, d1, f), readFile(t, d2, f)) {
			t.Errorf("%s differs", f)
		}
	}
	if !reflect.DeepEqual(m1, m2) {
		t.Errorf("manifests differ:\n%+v\n%+v", m1, m2)
	}
}

func TestExportFromWalkerChecksMembers(t *testing.T) {
	from, to := period()
	sorted := changes(5)
	sortBySubject(sorted)
	outOfOrder := append([]Member(nil), sorted...)
	outOfOrder[1], outOfOrder[3] = outOfOrder[3], outOfOrder[1]
	dup := append(append([]Member(nil), sorted[:3]...), sorted[2])
	late := append([]Member(nil), sorted...)
	late[4].OccurredAt = to.Add(time.Nanosecond)
	cases := []struct {
		name    string
		members []Member
		walkErr error
		want    string
	}{
		{"order", outOfOrder, nil, "comes after acme/api#4: the source did not list its members in subject order"},
		{"duplicate", dup, nil, "subject acme/api#3 appears twice"},
		{"period", late, nil, "outside the period"},
		{"source", sorted, errors.New("store down"), "population changes: store down"},
	}
	for _, c := range cases {
		dir := filepath.Join(t.TempDir(), "o")
		_, err := Export(context.Background(), &walkSource{fakeSource: &fakeSource{members: c.members}, walkErr: c.walkErr},
			Request{From: from, To: to, Size: 2, Seed: "s"}, dir)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "source wraps it") {
			t.Errorf("%s: err = %v, want %q", c.name, err, c.want)
		}
		if _, statErr := os.Stat(dir); statErr == nil {
			t.Errorf("%s: a failed export left its directory", c.name)
		}
	}
	// An empty directory given is left empty.
	dir := t.TempDir()
	if _, err := Export(context.Background(), &walkSource{fakeSource: &fakeSource{members: dup}}, Request{From: from, To: to, Size: 2, Seed: "s"}, dir); err == nil {
		t.Fatal("no error")
	}
	if names, _ := os.ReadDir(dir); len(names) != 0 {
		t.Errorf("a failed export left %v", names)
	}
}

func TestBundleBatchFailureNamesTheMember(t *testing.T) {
	from, to := period()
	ms := changes(10)
	sortBySubject(ms)
	ws := &walkSource{fakeSource: &fakeSource{members: ms, bundleErr: errors.New("no such change")}, batchErr: errors.New("batch failed")}
	_, err := Export(context.Background(), ws, Request{From: from, To: to, Size: 3, Seed: "s"}, filepath.Join(t.TempDir(), "o"))
	if err == nil || !strings.Contains(err.Error(), "evidence bundle of acme/api#") || !strings.Contains(err.Error(), "no such change") {
		t.Errorf("err = %v", err)
	}
	// A batch that fails while one by one works: the export succeeds.
	ws = &walkSource{fakeSource: &fakeSource{members: ms}, batchErr: errors.New("batch failed")}
	d1, _ := export(t, ws, Request{From: from, To: to, Size: 3, Seed: "s"})
	d2, _ := export(t, &fakeSource{members: ms}, Request{From: from, To: to, Size: 3, Seed: "s"})
	if !bytes.Equal(readFile(t, d1, "sample.csv"), readFile(t, d2, "sample.csv")) {
		t.Error("sample.csv differs after a failed batch")
	}
}

// TestZipOfLargePopulation: population.csv of several deflate blocks reads
// back whole from the archive.
func TestZipOfLargePopulation(t *testing.T) {
	from, to := period()
	ms := changes(30_000) // ~4 MB of population.csv
	sortBySubject(ms)
	for i := range ms {
		ms[i].OccurredAt = from.Add(time.Duration(i) * time.Second)
	}
	req := Request{From: from, To: to, Size: 5, Seed: "big", Now: fixedNow(t0)}
	var z bytes.Buffer
	m, err := ExportZip(context.Background(), &walkSource{fakeSource: &fakeSource{members: ms}}, req, &z)
	if err != nil {
		t.Fatal(err)
	}
	dir, _ := export(t, &fakeSource{members: ms}, req)
	pop := readFile(t, dir, "population.csv")
	if len(pop) < 3*deflateBlock {
		t.Fatalf("population.csv has %d bytes, want several blocks", len(pop))
	}
	zr, err := zip.NewReader(bytes.NewReader(z.Bytes()), int64(z.Len()))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range zr.File {
		if f.Name != "population.csv" {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc) // checks the CRC-32 at the end
		rc.Close()
		if err != nil || !bytes.Equal(data, pop) || FileHash(data) != m.PopulationSHA256 {
			t.Fatalf("population.csv from the zip: %d bytes, %v; want the %d exported", len(data), err, len(pop))
		}
		if f.CompressedSize64 >= f.UncompressedSize64/2 {
			t.Errorf("deflated to %d of %d bytes", f.CompressedSize64, f.UncompressedSize64)
		}
		return
	}
	t.Fatal("no population.csv in the zip")
}

// TestWriteZipHeadersAreZipWriters: the entries carry the headers
// zip.Writer gives a deflated file: only the deflate stream is made apart.
func TestWriteZipHeadersAreZipWriters(t *testing.T) {
	files := []struct{ name, data string }{{"a.txt", "hello"}, {"empty", ""}, {"evidence/1-x.json", "{}\n"}} // sorted
	var ours bytes.Buffer
	var entries []zipEntry
	for _, f := range files {
		e, err := deflate(f.name, []byte(f.data))
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, e)
	}
	if err := writeZip(&ours, entries); err != nil {
		t.Fatal(err)
	}
	var ref bytes.Buffer
	zw := zip.NewWriter(&ref)
	for _, f := range files {
		fh := &zip.FileHeader{Name: f.name, Method: zip.Deflate, Modified: zipTime}
		fh.SetMode(0o644)
		w, err := zw.CreateHeader(fh)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write([]byte(f.data))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	a, err := zip.NewReader(bytes.NewReader(ours.Bytes()), int64(ours.Len()))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := zip.NewReader(bytes.NewReader(ref.Bytes()), int64(ref.Len()))
	for i := range a.File {
		ha, hb := a.File[i].FileHeader, b.File[i].FileHeader
		ha.CompressedSize, ha.CompressedSize64, hb.CompressedSize, hb.CompressedSize64 = 0, 0, 0, 0
		if !reflect.DeepEqual(ha, hb) {
			t.Errorf("%s:\n%+v\n%+v", ha.Name, ha, hb)
		}
		rc, _ := a.File[i].Open()
		data, err := io.ReadAll(rc)
		if err != nil || string(data) != files[i].data {
			t.Errorf("%s reads %q, %v", ha.Name, data, err)
		}
	}
}

// TestFailedExportZipLeavesNoGoroutines: the deflater's workers end with a
// failed export too.
func TestFailedExportZipLeavesNoGoroutines(t *testing.T) {
	from, to := period()
	ms := changes(50)
	sortBySubject(ms)
	before := runtime.NumGoroutine()
	for range 5 {
		var z bytes.Buffer
		src := &walkSource{fakeSource: &fakeSource{members: ms}, walkErr: errors.New("store down")}
		if _, err := ExportZip(context.Background(), src, Request{From: from, To: to, Size: 2, Seed: "s"}, &z); err == nil || z.Len() != 0 {
			t.Fatalf("err %v, %d bytes written", err, z.Len())
		}
	}
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines before, %d after five failed exports", before, n)
	}
}

// TestAppendCSVIsEncodingCSV: population.csv's records are encoding/csv's
// bytes for any field.
func TestAppendCSVIsEncodingCSV(t *testing.T) {
	fields := []string{"", "plain", "a,b", `say "hi"`, "line\nbreak", "cr\rhere", "crlf\r\n", " lead", "\tlead", "\u00a0nbsp",
		"\u2028ls", "\u3000ideo", `\.`, `\.x`, "trail ", "ünïcödé", "\xff\xfe", `""`, ",", "\n", "x\x00y", "😀,😀"}
	// And random ones from the same alphabet.
	alphabet := []string{"a", ",", `"`, "\n", "\r", " ", "\u00a0", "é", "\\", ".", "\xff"}
	seed := uint32(1)
	for range 2000 {
		var b strings.Builder
		for range int(seed % 7) {
			seed = seed*1664525 + 1013904223
			b.WriteString(alphabet[seed>>16%uint32(len(alphabet))])
		}
		seed = seed*1664525 + 1013904223
		fields = append(fields, b.String())
	}
	for i := 0; i+3 <= len(fields); i++ {
		rec := fields[i : i+3]
		var want bytes.Buffer
		w := csv.NewWriter(&want)
		if err := w.Write(csvsafe.Row(rec)); err != nil { // with formula characters neutralised
			t.Fatal(err)
		}
		w.Flush()
		if got := appendCSVRecord(nil, rec); string(got) != want.String() {
			t.Fatalf("%q: %q, encoding/csv writes %q", rec, got, want.String())
		}
	}
}
