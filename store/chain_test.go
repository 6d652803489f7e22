package store_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/store"
	"github.com/changeproof/changeproof/store/storetest"
)

func delivery(i int) model.Delivery {
	body := []byte(fmt.Sprintf(`{"n":%d}`, i))
	sum := sha256.Sum256(body)
	return model.Delivery{Source: "github", Event: "ping", DeliveryID: fmt.Sprintf("d-%03d", i),
		// Sub-millisecond times: the link must hash what the engine keeps.
		ReceivedAt: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i)*time.Second + 999_999*time.Nanosecond),
		SHA256:     hex.EncodeToString(sum[:]), Body: body}
}

func writeChain(t *testing.T, s *store.Store, from, to int) {
	t.Helper()
	var b model.Batch
	for i := from; i < to; i++ {
		b.Deliveries = append(b.Deliveries, delivery(i))
	}
	if err := s.Write(context.Background(), b); err != nil {
		t.Fatal(err)
	}
}

func TestChainVerifies(t *testing.T) {
	ctx := context.Background()
	s := storetest.Open(t)
	writeChain(t, s, 0, 3)
	writeChain(t, s, 3, 7)
	// A new Store on the same database continues the chain (a restart).
	s2 := store.New(storetest.DB(s))
	writeChain(t, s2, 7, 9)
	res, err := s2.Verify(ctx, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	seq, head, _ := s2.ChainHead(ctx)
	if !res.OK() || res.Links != 9 || res.Chains != 1 || seq != 9 || res.Head != head {
		t.Fatalf("verify = %+v, head %d %s", res, seq, head)
	}
	// The first link is recomputable from its fields alone.
	d := delivery(0)
	want := store.LinkHash("", 1, d.Source, d.Event, d.DeliveryID, d.ReceivedAt, d.SHA256)
	lo, hi, err := s2.SeqRange(ctx, "", delivery(3).ReceivedAt.Truncate(time.Second), delivery(5).ReceivedAt)
	if err != nil || lo != 4 || hi != 6 {
		t.Fatalf("seq range = %d..%d, %v", lo, hi, err)
	}
	mid, err := s2.Verify(ctx, delivery(3).ReceivedAt.Truncate(time.Second), delivery(5).ReceivedAt)
	if err != nil || mid.Links != 3 || !mid.OK() {
		t.Fatalf("verify of a period = %+v, %v", mid, err)
	}
	var first []struct {
		Hash string `json:"hash"`
	}
	if err := storetest.DB(s).Query(ctx, "SELECT hash FROM raw_deliveries WHERE seq = 1", nil, &first); err != nil || first[0].Hash != want {
		t.Fatalf("link 1 hash = %v, want %s (%v)", first, want, err)
	}
}

func TestVerifyFindsTampering(t *testing.T) {
	cases := []struct {
		name, sql, want string
	}{
		{"body altered", "ALTER TABLE raw_deliveries UPDATE body = '{\"n\":666}' WHERE delivery_id = 'd-004'",
			"link 5 (d-004): body does not match its recorded SHA-256"},
		{"body and its sha256 altered", "ALTER TABLE raw_deliveries UPDATE body = '{\"n\":666}', sha256 = lower(hex(SHA256('{\"n\":666}'))) WHERE delivery_id = 'd-004'",
			"link 5 (d-004): hash does not match the link's contents"},
		{"link deleted", "ALTER TABLE raw_deliveries DELETE WHERE delivery_id = 'd-004'",
			"link 5 (d-005): link 5 is missing (next stored link is 6)"},
		{"link rewritten", "ALTER TABLE raw_deliveries UPDATE hash = repeat('0', 64) WHERE delivery_id = 'd-004'",
			"link 5 (d-004): hash does not match the link's contents"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			s := storetest.Open(t)
			writeChain(t, s, 0, 8)
			if err := storetest.DB(s).Exec(ctx, c.sql+" SETTINGS mutations_sync = 2", nil); err != nil {
				t.Fatal(err)
			}
			res, err := s.Verify(ctx, time.Time{}, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			if res.OK() {
				t.Fatalf("tampering not detected: %+v", res)
			}
			b := res.First()
			got := fmt.Sprintf("link %d (%s): %s", b.Seq, b.DeliveryID, b.Problem)
			if !strings.HasPrefix(got, c.want) {
				t.Fatalf("got %q\nwant prefix %q", got, c.want)
			}
			// One alteration is one report, and the rest of the chain is
			// still checked.
			if res.BrokenCount != 1 || res.Links < 7 {
				t.Fatalf("broken = %d (%+v), links %d; want 1 broken and the other links verified", res.BrokenCount, res.Broken, res.Links)
			}
		})
	}
}

// TestChainPerWriter: two writers (pipeline workers) each keep their own
// chain; both verify, and tampering in either is found.
func TestChainPerWriter(t *testing.T) {
	ctx := context.Background()
	s := storetest.Open(t)
	w1, w2 := store.New(storetest.DB(s)), store.New(storetest.DB(s))
	w1.SetChain("worker-1")
	w2.SetChain("worker-2")
	writeChain(t, w1, 0, 4)
	writeChain(t, w2, 4, 9)
	writeChain(t, w1, 9, 11)
	res, err := s.Verify(ctx, time.Time{}, time.Time{})
	if err != nil || !res.OK() || res.Chains != 2 || res.Links != 11 {
		t.Fatalf("verify = %+v, %v", res, err)
	}
	seq, head, _ := s.ChainHead(ctx)
	if seq != 11 || len(head) != 64 {
		t.Fatalf("head = %d %s", seq, head)
	}
	if err := storetest.DB(s).Exec(ctx, "ALTER TABLE raw_deliveries UPDATE body = '{}' WHERE delivery_id = 'd-006' SETTINGS mutations_sync = 2", nil); err != nil {
		t.Fatal(err)
	}
	res, _ = s.Verify(ctx, time.Time{}, time.Time{})
	if b := res.First(); b == nil || b.Chain != "worker-2" || b.Seq != 3 || b.DeliveryID != "d-006" {
		t.Fatalf("tampering in worker-2's chain: %+v", res.Broken)
	}
	// Every alteration is reported, in each chain, not just the first.
	if err := storetest.DB(s).Exec(ctx, "ALTER TABLE raw_deliveries UPDATE body = '{}' WHERE delivery_id IN ('d-001', 'd-008') SETTINGS mutations_sync = 2", nil); err != nil {
		t.Fatal(err)
	}
	res, _ = s.Verify(ctx, time.Time{}, time.Time{})
	var got []string
	for _, b := range res.Broken {
		got = append(got, b.Chain+"/"+b.DeliveryID)
	}
	if want := []string{"worker-1/d-001", "worker-2/d-006", "worker-2/d-008"}; !slices.Equal(got, want) || res.Links != 11 || res.BySource["github"] != 11 {
		t.Fatalf("broken = %v (links %d, by source %v), want %v and 11 links", got, res.Links, res.BySource, want)
	}
}
