package chdb_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/changeproof/changeproof/store/chdb"
	"github.com/changeproof/changeproof/store/storetest"
)

// threadNice lists the process's threads: name and nice value by id.
func threadNice(t *testing.T) map[int]struct {
	comm string
	nice int
} {
	t.Helper()
	out := map[int]struct {
		comm string
		nice int
	}{}
	ents, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Skip("no /proc/self/task:", err)
	}
	for _, e := range ents {
		stat, err := os.ReadFile("/proc/self/task/" + e.Name() + "/stat")
		if err != nil {
			continue // exited meanwhile
		}
		// pid (comm) state ... : field 19 is nice, counting from the pid.
		s := string(stat)
		close := strings.LastIndexByte(s, ')')
		f := strings.Fields(s[close+1:])
		if close < 0 || len(f) < 17 {
			continue
		}
		nice, _ := strconv.Atoi(f[16])
		tid, _ := strconv.Atoi(e.Name())
		out[tid] = struct {
			comm string
			nice int
		}{s[strings.IndexByte(s, '(')+1 : close], nice}
	}
	return out
}

// With BackgroundNice, engine calls made with a Background context run on
// threads at that nice value, the engine's own threads are reniced to it,
// and the threads that run Go code for everyone else keep the process's
// priority: receivers are never scheduled onto a lowered thread.
func TestBackgroundEngineWorkRunsBelowTheProcess(t *testing.T) {
	dir, err := storetest.DataDir()
	if err != nil {
		t.Fatal(err)
	}
	db, err := chdb.Open(chdb.Options{DataDir: dir, Database: "background_nice", Conns: 2, BackgroundNice: 10})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	self, _ := os.ReadFile("/proc/self/comm")
	name := strings.TrimSpace(string(self))
	// The process's own priority, as this goroutine's thread has it.
	runtime.LockOSThread()
	p, err := unix.Getpriority(unix.PRIO_PROCESS, unix.Gettid())
	runtime.UnlockOSThread()
	if err != nil || 20-p >= 10 {
		t.Skipf("the process runs at nice %d: nothing to lower", 20-p)
	}
	base := 20 - p

	// A background query long enough to be seen at work.
	ctx := chdb.Background(context.Background())
	done := make(chan error, 1)
	go func() {
		var rows []struct{ N uint64 }
		done <- db.Query(ctx, "SELECT count() AS N FROM numbers(3000000000) WHERE number % 7 = 3", nil, &rows)
	}()
	// Meanwhile ordinary goroutines run Go code: each notes its thread's
	// nice value.
	var mu sync.Mutex
	goNice := map[int]int{}
	deadline := time.Now().Add(2500 * time.Millisecond)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				runtime.LockOSThread()
				tid := unix.Gettid()
				p, err := unix.Getpriority(unix.PRIO_PROCESS, tid)
				runtime.UnlockOSThread()
				if err == nil {
					mu.Lock()
					goNice[tid] = 20 - p
					mu.Unlock()
				}
				time.Sleep(time.Millisecond)
			}
		}()
	}
	wg.Wait()
	threads := threadNice(t)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for tid, n := range goNice {
		if n != base {
			t.Errorf("goroutine ran on thread %d at nice %d: ordinary Go code must keep the process's priority (%d)", tid, n, base)
		}
	}
	lane, engine, engineLow := 0, 0, 0
	var report []string
	for tid, th := range threads {
		report = append(report, fmt.Sprintf("%d %s nice=%d", tid, th.comm, th.nice))
		switch {
		case th.comm == name && th.nice == 10:
			lane++
		case th.comm != name:
			engine++
			if th.nice >= 10 {
				engineLow++
			}
		}
	}
	if lane == 0 {
		t.Errorf("no thread named %q at nice 10 (the background calls' threads):\n%s", name, strings.Join(report, "\n"))
	}
	if engine == 0 || engineLow != engine {
		t.Errorf("%d of the engine's %d threads at nice 10 or more after 2.5 s:\n%s", engineLow, engine, strings.Join(report, "\n"))
	}
}
