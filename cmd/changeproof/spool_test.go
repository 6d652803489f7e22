package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/changeproof/changeproof/ingest/spool"
	"github.com/changeproof/changeproof/internal/testkit/demoorg"
	"github.com/changeproof/changeproof/model"
)

// TestSpooledDeliveriesLoadAtStart: deliveries a receiver acknowledged
// (they are in the spool) but that a killed process never loaded are
// stored and judged by the next `serve`, although no sender re-sends them.
// The spool is filled directly, so the test does not depend on winning a
// race with the loader.
func TestSpooledDeliveriesLoadAtStart(t *testing.T) {
	hist := demoorg.Generate(demoorg.Options{Seed: 5, Now: time.Now().UTC(), PRs: 40})
	_, cfgPath := testConfig(t, "changeproof")
	dir := filepath.Join(t.TempDir(), "data")
	sp, err := spool.Open(filepath.Join(dir, "spool"), spool.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var ds []model.Delivery
	for _, d := range hist.Deliveries {
		sum := sha256.Sum256(d.Body)
		ds = append(ds, model.Delivery{Source: "github", Event: d.Event, DeliveryID: d.ID, ReceivedAt: time.Now().UTC(),
			SHA256: hex.EncodeToString(sum[:]), Body: d.Body})
	}
	if err := sp.Accept(context.Background(), ds); err != nil {
		t.Fatal(err)
	}
	sp.Close()

	srv := startChild(t, "serve", "--config", cfgPath, "--data-dir", dir, "--addr", "127.0.0.1:0")
	if vs := settled(t, srv.addr); len(vs) == 0 {
		t.Fatal("no findings from the spooled deliveries")
	}
	_ = srv.cmd.Process.Signal(syscall.SIGTERM)
	_ = srv.cmd.Wait()
	rows, _ := parseStats(t, runChild(t, "stats", "--config", cfgPath, "--data-dir", dir))
	for table, n := range wantRows(t, hist.Deliveries) {
		if rows[table] != n {
			t.Errorf("%s has %d rows, want %d", table, rows[table], n)
		}
	}
	reopened, err := spool.Open(filepath.Join(dir, "spool"), spool.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer reopened.Close()
	if b := reopened.Backlog(); b != 0 {
		t.Errorf("spool backlog %d bytes after a clean stop", b)
	}
}
