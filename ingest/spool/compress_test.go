package spool

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/changeproof/changeproof/internal/testkit/fixture"
	"github.com/changeproof/changeproof/model"
)

// webhookDeliveries are the recorded GitHub payloads (7-25 KB each), and
// a small one that stays plain.
func webhookDeliveries() []model.Delivery {
	at := time.Date(2026, 3, 2, 10, 0, 0, 123456789, time.UTC)
	var ds []model.Delivery
	for i, name := range fixture.Templates() {
		ds = append(ds, model.Delivery{Source: "github", Event: name, DeliveryID: fmt.Sprintf("w-%d", i),
			ReceivedAt: at.Add(time.Duration(i) * time.Second), SHA256: fmt.Sprintf("%064d", i),
			Body: fixture.Template(name), Meta: []byte(`{"repo":"acme/api"}`)})
	}
	return append(ds, model.Delivery{Source: "github", Event: "ping", DeliveryID: "w-small",
		ReceivedAt: at, Body: []byte(`{"zen":"Keep it logically awesome."}`)})
}

// Large bodies are stored compressed, come back byte for byte, and survive
// a reopen (the torn-tail scan reads compressed records as whole ones).
func TestLargeBodiesAreStoredCompressedAndLoadUnchanged(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ds := webhookDeliveries()
	plain := 0
	for _, d := range ds {
		plain += len(appendRecord(nil, d))
	}
	if err := s.Accept(context.Background(), ds); err != nil {
		t.Fatal(err)
	}
	seg, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("%020d.log", 0)))
	if err != nil {
		t.Fatal(err)
	}
	if len(seg)*2 > plain {
		t.Errorf("segment holds %d bytes for %d bytes of plain records, want under half", len(seg), plain)
	}
	s.Close()

	s, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := s.Backlog(); got != int64(len(seg)) {
		t.Fatalf("after reopening, backlog %d, want the whole segment %d (nothing cut as torn)", got, len(seg))
	}
	c := &collector{}
	stop := run(t, s, c)
	defer stop()
	waitLoaded(t, s)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.got) != len(ds) {
		t.Fatalf("loaded %d records, want %d", len(c.got), len(ds))
	}
	for i, d := range c.got {
		if !bytes.Equal(appendRecord(nil, d), appendRecord(nil, ds[i])) {
			t.Errorf("record %d (%s) changed on the way", i, ds[i].Event)
		}
	}
}

// A compressed record damaged anywhere fails its checksum: it is cut off
// as a torn tail, never decoded into other evidence.
func TestDamagedCompressedRecordIsCorrupt(t *testing.T) {
	d := webhookDeliveries()[0]
	rec, _ := appendCompressed(nil, nil, d)
	if len(rec) >= len(appendRecord(nil, d)) {
		t.Fatalf("a %d-byte body was not compressed", len(d.Body))
	}
	for _, at := range []int{8, len(rec) / 2, len(rec) - 1} {
		bad := append([]byte(nil), rec...)
		bad[at] ^= 0x01
		if _, err := readRecord(bytes.NewReader(bad)); err != errCorrupt {
			t.Errorf("byte %d flipped: %v, want errCorrupt", at, err)
		}
	}
}
