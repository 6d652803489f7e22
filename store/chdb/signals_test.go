package chdb_test

import (
	"bytes"
	"context"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/changeproof/changeproof/store/storetest"
)

// caught reads the process's SigCgt mask: the signals it has a handler for.
func caught(t *testing.T) uint64 {
	t.Helper()
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status:", err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "SigCgt:"); ok {
			m, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				t.Fatal(err)
			}
			return m
		}
	}
	t.Fatal("no SigCgt line")
	return 0
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// With the engine loaded and connected, Go still handles the fault signals:
// a nil dereference in an HTTP handler is a panic net/http recovers and
// logs, not a silent SIGSEGV death of the whole server.
func TestGoSignalHandlersSurviveTheEngine(t *testing.T) {
	db := storetest.OpenDB(t)
	mask := caught(t)
	for _, sig := range []syscall.Signal{syscall.SIGSEGV, syscall.SIGBUS, syscall.SIGFPE, syscall.SIGILL, syscall.SIGABRT, syscall.SIGURG} {
		if mask&(1<<(uint(sig)-1)) == 0 {
			t.Errorf("%v has no handler with the engine loaded (SigCgt %x)", sig, mask)
		}
	}
	var logged syncBuffer
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p *struct{ n int }
		w.WriteHeader(p.n) // a nil dereference: SIGSEGV, turned into a panic by Go's handler
	}))
	srv.Config.ErrorLog = log.New(&logged, "", 0)
	srv.Start()
	defer srv.Close()
	if resp, err := http.Get(srv.URL); err == nil {
		resp.Body.Close()
		t.Errorf("a panicking handler answered %d", resp.StatusCode)
	}
	if out := logged.String(); !strings.Contains(out, "panic serving") || !strings.Contains(out, "nil pointer dereference") {
		t.Errorf("server log: %q, want the recovered panic", out)
	}
	var one []struct {
		N int `json:"n"`
	}
	if err := db.Query(context.Background(), "SELECT 1 AS n", nil, &one); err != nil || len(one) != 1 {
		t.Errorf("engine after the panic: %v %v", one, err)
	}
	if after := caught(t); after&mask != mask {
		t.Errorf("queries took handlers away: SigCgt %x, was %x", after, mask)
	}
}
