package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startChildLog is startChild with the child's stderr (its log) captured.
func startChildLog(t *testing.T, args ...string) (*child, *lockedBuffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "CHANGEPROOF_E2E_ARGS="+strings.Join(args, "\x1f"))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuffer{}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	deadline := time.AfterFunc(60*time.Second, func() { _ = cmd.Process.Kill() })
	defer deadline.Stop()
	addr, ok := awaitListening(out)
	if !ok {
		t.Fatalf("child %v exited before listening:\n%s", args, logs)
	}
	return &child{cmd: cmd, addr: addr}, logs
}

// An existing data dir readable by others is tightened to 0700 (a new one
// is created so), and a configuration file others can read is warned about.
func TestDataDirTightenedAndReadableConfigWarned(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers")
	}
	_, cfgPath := testConfig(t, "changeproof")
	if err := os.Chmod(cfgPath, 0o644); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	srv, logs := startChildLog(t, "serve", "--config", cfgPath, "--data-dir", dir, "--addr", "127.0.0.1:0")
	_ = srv.cmd.Process.Signal(syscall.SIGTERM)
	_ = srv.cmd.Wait()
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("data dir mode %v (%v), want 0700", fi.Mode().Perm(), err)
	}
	if !strings.Contains(logs.String(), "the configuration file is readable by other users") {
		t.Errorf("no warning about a 0644 config holding secrets:\n%s", logs)
	}
	fresh := filepath.Join(t.TempDir(), "fresh")
	if err := os.Chmod(cfgPath, 0o600); err != nil {
		t.Fatal(err)
	}
	srv, logs = startChildLog(t, "serve", "--config", cfgPath, "--data-dir", fresh, "--addr", "127.0.0.1:0")
	_ = srv.cmd.Process.Signal(syscall.SIGTERM)
	_ = srv.cmd.Wait()
	if fi, err := os.Stat(fresh); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("new data dir mode %v (%v), want 0700", fi.Mode().Perm(), err)
	}
	if strings.Contains(logs.String(), "readable by other users") {
		t.Errorf("warned about a 0600 config:\n%s", logs)
	}
}
