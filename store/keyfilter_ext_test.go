package store_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/store"
	"github.com/changeproof/changeproof/store/storetest"
)

// countingDB counts the queries that reach the engine.
type countingDB struct {
	store.DB
	queries atomic.Int64
}

func (c *countingDB) Query(ctx context.Context, q string, p store.Params, dest any) error {
	c.queries.Add(1)
	return c.DB.Query(ctx, q, p, dest)
}

// The filter is filled from the engine's hashes: they must be Go's.
func TestKeyFilterFromTheEngine(t *testing.T) {
	ctx := context.Background()
	db := &countingDB{DB: storetest.DB(storetest.Open(t))}
	s := store.New(db)
	var ds []model.Delivery
	for i := 0; i < 50; i++ {
		ds = append(ds, model.Delivery{Source: "github", Event: "ping", DeliveryID: fmt.Sprintf("d-%03d", i),
			ReceivedAt: time.Date(2026, 1, 1, 0, 0, i, 0, time.UTC), SHA256: fmt.Sprint("sha-", i), Body: []byte("{}")})
	}
	if err := s.Write(ctx, model.Batch{Deliveries: ds[:40]}); err != nil {
		t.Fatal(err)
	}
	// Pages of 7 keys: the keyset paging must not skip or repeat a key
	// at a page's edge (a skipped key would be taken for new and stored
	// twice).
	defer store.SetKeyFilterPage(7)()
	if err := s.EnableKeyFilter(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, model.Batch{Deliveries: ds[40:]}); err != nil {
		t.Fatal(err)
	}
	// Every stored key, whether read from the engine's hashes at start or
	// written since, is found; new ids cost no query.
	var all []string
	for _, d := range ds {
		all = append(all, d.DeliveryID)
	}
	got, err := s.KnownSHA(ctx, "github", all)
	if err != nil || len(got) != len(ds) {
		t.Fatalf("known = %d of %d, %v", len(got), len(ds), err)
	}
	before := db.queries.Load()
	var fresh []string
	for i := 0; i < 1000; i++ {
		fresh = append(fresh, fmt.Sprint("fresh-", i))
	}
	if got, err := s.KnownSHA(ctx, "github", fresh[:1]); err != nil || len(got) != 0 || db.queries.Load() != before {
		t.Fatalf("a new id cost %d queries (%v, %v)", db.queries.Load()-before, got, err)
	}
	if got, err := s.KnownSHA(ctx, "access", all); err != nil || len(got) != 0 {
		t.Fatalf("known under another source = %v, %v", got, err)
	}
	known, err := s.KnownSHA(ctx, "github", []string{"d-000", "d-045", "d-999", "nope"})
	if err != nil {
		t.Fatal(err)
	}
	if len(known) != 2 || known["d-000"] != "sha-0" || known["d-045"] != "sha-45" {
		t.Fatalf("known = %v", known)
	}
}
