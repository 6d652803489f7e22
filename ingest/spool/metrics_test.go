package spool

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// changeproof_spool_backlog_bytes reads the open spools' backlog at scrape
// time: what is accepted and not loaded, nothing once loaded or closed.
func TestBacklogGauge(t *testing.T) {
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if g := testutil.ToFloat64(backlogGauge); g != 0 {
		t.Fatalf("gauge %v before accepting", g)
	}
	accept(t, s, 0, 5)
	if b, g := s.Backlog(), testutil.ToFloat64(backlogGauge); b == 0 || g != float64(b) {
		t.Errorf("gauge %v, backlog %d", g, b)
	}
	c := &collector{}
	stop := run(t, s, c)
	waitLoaded(t, s)
	if g := testutil.ToFloat64(backlogGauge); g != 0 {
		t.Errorf("gauge %v after loading", g)
	}
	accept(t, s, 5, 6)
	stop()
	s.Close()
	if g := testutil.ToFloat64(backlogGauge); g != 0 {
		t.Errorf("gauge %v after close", g)
	}
}
