package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"runtime/metrics"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// benchCommand is one `changeproof bench NAME` sub-benchmark. Each lives in
// its own file (bench_generate.go, bench_rules.go, ...) and registers itself
// from init, so adding one never touches this dispatcher.
type benchCommand struct {
	name  string
	usage string // one line: flags and what it measures
	run   func(args []string) error
}

var benchCommands = map[string]benchCommand{}

func registerBench(c benchCommand) {
	if _, dup := benchCommands[c.name]; dup {
		panic("bench " + c.name + " registered twice")
	}
	benchCommands[c.name] = c
}

func benchUsage() string {
	names := make([]string, 0, len(benchCommands))
	for n := range benchCommands {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("Usage: changeproof bench SUBCOMMAND [flags]\n\n")
	for _, n := range names {
		fmt.Fprintf(&b, "  bench %-9s %s\n", n, benchCommands[n].usage)
	}
	b.WriteString("\nEvery figure is printed next to a raw limit measured in the same run, as a ratio:\n" +
		"the machine is shared, so absolute times alone say little.\n")
	return b.String()
}

// runBench dispatches `changeproof bench SUBCOMMAND`.
func runBench(args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Print(benchUsage())
		if len(args) == 0 {
			return fmt.Errorf("bench: missing subcommand")
		}
		return nil
	}
	c, ok := benchCommands[args[0]]
	if !ok {
		return fmt.Errorf("bench: unknown subcommand %q\n\n%s", args[0], benchUsage())
	}
	return c.run(args[1:])
}

// rssSampler records the process's peak resident set size while a phase
// runs, and the peak of the memory the Go runtime holds, so that the rest
// (the embedded engine, which lives in this process as it does in `serve`)
// can be told apart.
type rssSampler struct {
	mu     sync.Mutex
	peak   int64
	goPeak int64
	// at, rss and goHeld are every sample, so that a phase's parts can
	// be told apart afterwards (PeakBetween).
	at     []time.Time
	rss    []int64
	goHeld []int64
	stop   chan struct{}
	done   chan struct{}
}

// startRSS samples every 20ms until Stop.
func startRSS() *rssSampler {
	s := &rssSampler{stop: make(chan struct{}), done: make(chan struct{})}
	s.sample()
	go func() {
		defer close(s.done)
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-t.C:
				s.sample()
			}
		}
	}()
	return s
}

var goMemory = []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}

func (s *rssSampler) sample() {
	rss := currentRSS()
	ms := make([]metrics.Sample, len(goMemory))
	copy(ms, goMemory)
	metrics.Read(ms)
	held := int64(ms[0].Value.Uint64()) - int64(ms[1].Value.Uint64())
	s.mu.Lock()
	s.peak, s.goPeak = max(s.peak, rss), max(s.goPeak, held)
	s.at, s.rss, s.goHeld = append(s.at, time.Now()), append(s.rss, rss), append(s.goHeld, held)
	s.mu.Unlock()
}

// Stop ends sampling and returns the peaks in bytes: the process's RSS,
// and what the Go runtime held of it.
func (s *rssSampler) Stop() (rss, goHeld int64) {
	close(s.stop)
	<-s.done
	s.sample()
	return s.peak, s.goPeak
}

// PeakBetween returns the peaks of the samples taken from from to to:
// the RSS and what Go held of it.
func (s *rssSampler) PeakBetween(from, to time.Time) (rss, goHeld int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, at := range s.at {
		if !at.Before(from) && !at.After(to) {
			rss, goHeld = max(rss, s.rss[i]), max(goHeld, s.goHeld[i])
		}
	}
	return rss, goHeld
}

// currentRSS reads VmRSS from /proc/self/status (bytes; 0 when unknown).
func currentRSS() int64 { return procStatus("VmRSS:") }

// peakRSS reads VmHWM, the kernel's own high-water mark of the RSS.
func peakRSS() int64 { return procStatus("VmHWM:") }

func procStatus(key string) int64 { return procStatusOf("/proc/self/status", key) }

// procStatusOf reads a size field of a /proc/PID/status file (bytes; 0 when
// unknown).
func procStatusOf(path, key string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, key) {
			continue
		}
		f := strings.Fields(line[len(key):])
		if len(f) == 0 {
			return 0
		}
		kb, _ := strconv.ParseInt(f[0], 10, 64)
		return kb * 1024
	}
	return 0
}

func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

// ratio formats a/b for "x of the raw limit" lines.
func ratio(a, b time.Duration) string {
	if b <= 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f", float64(a)/float64(b))
}

func secs(d time.Duration) string { return fmt.Sprintf("%.3fs", d.Seconds()) }
