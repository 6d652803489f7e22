package chdb

import (
	"context"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// The embedded engine runs on the threads that call it and on its own
// thread pools (query pipelines, merges), all at the process's CPU
// priority: in a process that also receives webhooks, a large load or a
// merge holds both cores while senders wait for their 202. The kernel can
// prefer the receivers only if the engine's work runs at a lower priority
// (a higher nice value). Raising one's own nice value needs no privilege;
// lowering it again does, so a thread once lowered must never run
// receiver work again:
//
//   - engine calls made with a Background context run on dedicated OS
//     threads, locked to their goroutines for life (a locked goroutine that
//     exits takes its thread with it, so the Go scheduler never reuses one);
//   - the engine's own threads (ClickHouse names them: "QueryPipelineEx",
//     "MergeMutate", "BgSchPool", ...; Go never renames a thread, so every
//     thread not named like the process is the engine's) are reniced as
//     they appear.
//
// Threads the engine starts from a background thread inherit its nice
// value. Go's own threads keep the process's.

type backgroundKey struct{}

// Background marks ctx so that the engine calls made with it (and the
// engine threads they start) run below the receivers' CPU priority, when
// the DB was opened with Options.BackgroundNice. Use it for work that may
// lag: loading the log into the store, judging, alerting.
func Background(ctx context.Context) context.Context {
	return context.WithValue(ctx, backgroundKey{}, true)
}

func isBackground(ctx context.Context) bool {
	v, _ := ctx.Value(backgroundKey{}).(bool)
	return v
}

// lane runs functions on OS threads with a raised nice value.
type lane struct {
	jobs chan func()
}

// procLane is the process's lane (one engine per process); nil until a DB
// is opened with Options.BackgroundNice.
var (
	procLaneMu sync.Mutex
	procLane   *lane
)

// backgroundThreads is how many engine calls run on the lane at once: the
// pool's default connection count, so background work can use every
// connection but never needs more threads.
const backgroundThreads = 4

// startLane starts the process's lane and the renicer of the engine's own
// threads, once. It reports whether raising the nice value works here.
func startLane(nice int) bool {
	procLaneMu.Lock()
	defer procLaneMu.Unlock()
	if procLane != nil {
		return true
	}
	l := &lane{jobs: make(chan func())}
	ok := make(chan bool, backgroundThreads)
	for range backgroundThreads {
		go l.work(nice, ok)
	}
	for range backgroundThreads {
		if !<-ok {
			return false // the workers that failed have exited; the rest idle harmlessly
		}
	}
	procLane = l
	go reniceEngineThreads(nice)
	return true
}

// work is one lane thread: locked for life, reniced, then running jobs.
func (l *lane) work(nice int, ok chan<- bool) {
	runtime.LockOSThread() // never unlocked: this thread's nice value cannot be lowered again
	if err := unix.Setpriority(unix.PRIO_PROCESS, unix.Gettid(), nice); err != nil {
		ok <- false
		return // the goroutine exits locked: the thread exits with it
	}
	ok <- true
	for f := range l.jobs {
		f()
	}
}

// do runs f on a lane thread and waits for it; f must not panic.
func (l *lane) do(f func()) {
	done := make(chan struct{})
	l.jobs <- func() { f(); close(done) }
	<-done
}

// call runs f, an engine call, on a lane thread when ctx is Background
// and the lane runs; otherwise on the calling goroutine's thread.
func call(ctx context.Context, f func()) {
	if isBackground(ctx) {
		procLaneMu.Lock()
		l := procLane
		procLaneMu.Unlock()
		if l != nil {
			l.do(f)
			return
		}
	}
	f()
}

// reniceEngineThreads raises the nice value of every thread of the
// process not named like the process (the engine's), checking every
// second for new ones, for the life of the process.
func reniceEngineThreads(nice int) {
	self, err := os.ReadFile("/proc/self/comm")
	if err != nil {
		return
	}
	name := strings.TrimSpace(string(self))
	// Every pass looks at every thread again rather than remembering the
	// ones already reniced: thread ids are reused, and an engine thread
	// that got the id of one reniced before would be missed for good.
	for {
		ents, err := os.ReadDir("/proc/self/task")
		if err != nil {
			return
		}
		for _, e := range ents {
			tid, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			// A thread already this low (reniced before, the engine's
			// own choice, or a lane thread's child) is left alone.
			if cur, err := unix.Getpriority(unix.PRIO_PROCESS, tid); err != nil || 20-cur >= nice {
				continue
			}
			comm, err := os.ReadFile("/proc/self/task/" + e.Name() + "/comm")
			if err != nil || strings.TrimSpace(string(comm)) == name {
				continue
			}
			_ = unix.Setpriority(unix.PRIO_PROCESS, tid, nice) // an exited thread: nothing to do
		}
		time.Sleep(time.Second)
	}
}
