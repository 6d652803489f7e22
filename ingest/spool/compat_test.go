package spool

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/changeproof/changeproof/model"
)

// storedRecord is one record of a segment: whether it is compressed, and
// its payload as readRecord decodes it (plain).
type storedRecord struct {
	compressed bool
	plain      []byte
}

// splitSegment cuts seg into its records.
func splitSegment(t *testing.T, seg []byte) []storedRecord {
	t.Helper()
	var out []storedRecord
	for len(seg) > 0 {
		n := binary.LittleEndian.Uint32(seg)
		size := 8 + int(n&^compressedBit)
		d, err := readRecord(bytes.NewReader(seg[:size]))
		if err != nil {
			t.Fatalf("record %d: %v", len(out), err)
		}
		out = append(out, storedRecord{n&compressedBit != 0, appendRecord(nil, d)[8:]})
		seg = seg[size:]
	}
	return out
}

// goldenDigests are the SHA-256 of the plain records (appendRecord) in
// testdata/segment-fe21fb3.log, a segment written by commit fe21fb3 (two
// Accept calls) from
// webhookDeliveries(): 16 webhook records, 14 of them compressed, then a
// small plain one.
var goldenDigests = []string{
	"16f87b7e7e24095fa8f445895908146f6ee7e2ef6c31995512f9a030721556f3",
	"e559e3c9ff6b54461399693bc3a5ccb6d57f13a4414b1cf683309bc020b30b78",
	"67497ce1f8d687202eb88cd08049666aa5adabba4fd4fb50f73b2c6f07223f1a",
	"4c1f792f17c509f27ec7e239e50020da2ad1f3759157d9468cbf9c4585a7decc",
	"2e356931f91dabece853f775ba812ec9f32328791b0caef3e075076a267c7091",
	"cd5443b9bc7d1ce45cbc9fbff630caf5ccb8544db58afaf31cbc54d7196357ec",
	"525eae491ed1a16b2a233dd495495531fdb2d355dcadd28df3de89e02c455a69",
	"aabec304b18afcf571b75dfcea8e43c65637077da2a4e621910d7b57aec46baa",
	"13841b1c82b1ac9ee1a23f07537499ac6b4fa0b4dc8fb626ea86ee8f8747dfc8",
	"ef83d0e81f3e6fc2178af96e467a6ec6f4d1112c82987b9c48f3842d536832a8",
	"bfc5dea44df2156bf7b4abda98ce7b1caf4300b4647fedc58672c93bd39b30cf",
	"ef9581990196c25fa236b090ef2f99ba45dfd419e22705a67a16a15cfb721630",
	"9d0247a84b435f414aaf24d23740e7aa22d3f06e955c6afa86f7e0fa0791952c",
	"f72130e5f3d5b15242a14141d300630085de33d3b390266c36d5553d8c77c719",
	"81512ae10ec09a23aa6ff53857f8ddcc4ecf9d323c9d6a097224471844674a42",
	"be8711d09a0380213e78ba9ea6b7290f4e6b1ca572eaa69372a41371a1a558b9",
	"5984c17c49b42ce8f36271c161aa6d2f55cf30bea87192ca46ebec0e5746d11c",
}

// A spool written by an earlier version (fe21fb3) opens whole and loads
// unchanged, and this version stores the same deliveries in the same form,
// record by record (compressed or not, the same bytes once decoded): a
// change of the encoder's settings must keep both true, or say in the
// package comment which versions cannot read which spools.
func TestSpoolWrittenBeforeStillLoads(t *testing.T) {
	golden, err := os.ReadFile("testdata/segment-fe21fb3.log")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "00000000000000000000.log"), golden, 0o640); err != nil {
		t.Fatal(err)
	}
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := s.Backlog(); got != int64(len(golden)) {
		t.Fatalf("backlog %d, want the whole segment %d (nothing cut as torn)", got, len(golden))
	}
	c := &collector{}
	stop := run(t, s, c)
	defer stop()
	waitLoaded(t, s)
	c.mu.Lock()
	loaded := append([]model.Delivery(nil), c.got...)
	c.mu.Unlock()
	if len(loaded) != len(goldenDigests) {
		t.Fatalf("loaded %d records, want %d", len(loaded), len(goldenDigests))
	}
	for i, d := range loaded {
		if sum := sha256.Sum256(appendRecord(nil, d)); hex.EncodeToString(sum[:]) != goldenDigests[i] {
			t.Errorf("record %d (%s %s) does not load as it was written", i, d.Event, d.DeliveryID)
		}
	}

	was, now := splitSegment(t, golden), splitSegment(t, encodeAll(loaded))
	for i := range was {
		if was[i].compressed != now[i].compressed || !bytes.Equal(was[i].plain, now[i].plain) {
			t.Errorf("record %d: written before compressed=%v, now compressed=%v, same plain bytes: %v",
				i, was[i].compressed, now[i].compressed, bytes.Equal(was[i].plain, now[i].plain))
		}
	}
}

// encodeAll is ds as Accept writes them.
func encodeAll(ds []model.Delivery) []byte {
	var buf, scratch []byte
	for _, d := range ds {
		buf, scratch = appendCompressed(buf, scratch, d)
	}
	return buf
}
