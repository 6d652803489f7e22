package main

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// A second process on a data dir the running server holds is refused with
// a message that says what to do, instead of starting a second engine on
// the same files.
func TestDataDirHeldByOneProcess(t *testing.T) {
	_, cfgPath := testConfig(t, "changeproof")
	dir := filepath.Join(t.TempDir(), "data")
	srv := startChild(t, "serve", "--config", cfgPath, "--data-dir", dir, "--addr", "127.0.0.1:0")
	out, err := runChildErr("stats", "--config", cfgPath, "--data-dir", dir)
	if err == nil || !strings.Contains(out, "is in use by another process") || !strings.Contains(out, "--server") {
		t.Errorf("second process on a held data dir: %v\n%s", err, out)
	}
	_ = srv.cmd.Process.Signal(syscall.SIGTERM)
	_ = srv.cmd.Wait()
	if out := runChild(t, "stats", "--config", cfgPath, "--data-dir", dir); !strings.Contains(out, "raw_deliveries") {
		t.Errorf("after the server stopped: %s", out)
	}
}
