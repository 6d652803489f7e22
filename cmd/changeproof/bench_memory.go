package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/changeproof/changeproof/config"
	"github.com/changeproof/changeproof/ingest"
	"github.com/changeproof/changeproof/internal/testkit/fixture"
)

func init() {
	registerBench(benchCommand{
		name: "memory",
		usage: "[--data-dir DIR] [--seconds 15] [--upload-mib 128]  peak RSS of `serve` on the generated store while\n" +
			"                  webhooks and access events arrive at full rate, then during large uploads",
		run: runBenchMemory,
	})
}

const (
	memBenchSecret = "bench-memory-secret"
	memBenchToken  = "bench-memory-ingest"
	memTarget      = 1536 << 20 // issue #8: embedded serve RSS <= 1.5 GiB
)

// runBenchMemory starts `serve` (this binary, a child process: its RSS is
// the embedded engine's and the server's, not the load generator's) on a
// store written by `bench generate`, drives it at full rate, and samples
// the child's RSS. The raw reference is the same server idle on the same
// store.
func runBenchMemory(args []string) error {
	fs := flag.NewFlagSet("bench memory", flag.ContinueOnError)
	dataDir := fs.String("data-dir", "./bench-data", "store written by `changeproof bench generate`")
	seconds := fs.Int("seconds", 15, "how long to ingest at full rate")
	uploadMiB := fs.Int("upload-mib", 128, "size of the larger access-log upload of the second phase (the other is a quarter)")
	senders := fs.Int("senders", 16, "concurrent webhook senders")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfgPath, err := memBenchConfig(*dataDir)
	if err != nil {
		return err
	}
	defer os.Remove(cfgPath)
	srv, err := startServeChild(cfgPath, *dataDir)
	if err != nil {
		return err
	}
	defer srv.stop()
	// serve judges the stored history when it starts (a full evaluation);
	// that is measured on its own, and the load starts once it is done.
	began := time.Now()
	startPeak := srv.sample()
	srv.waitQuiet(3 * time.Minute)
	fmt.Printf("serve on %s: start-up (full evaluation of the stored history) %s, peak RSS %s = %.2f of the 1.5 GiB target\n",
		*dataDir, time.Since(began).Round(100*time.Millisecond), mib(startPeak.stop()), float64(srv.hwm())/memTarget)
	idle := srv.rss()
	fmt.Printf("idle RSS %s\n", mib(idle))

	// Every delivery and access event of this run has an id no earlier run
	// on the same store used (the same id with other bytes is a conflict,
	// refused with 409 or 422, and would measure nothing).
	run := strconv.FormatInt(time.Now().UnixNano(), 36)

	// Phase 1: webhooks and access events at full rate.
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(*seconds)*time.Second)
	peak := srv.sample()
	var hooks, lines, hookErrs atomic.Int64
	var wg sync.WaitGroup
	for w := range *senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				d := memDelivery(run, w, i)
				code, err := fixture.Post(ctx, http.DefaultClient, srv.base+"/webhooks/github", memBenchSecret, d)
				if err == nil && code == http.StatusAccepted {
					hooks.Add(1)
				} else if ctx.Err() == nil {
					hookErrs.Add(1)
				}
			}
		}()
	}
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				n, err := postAccess(ctx, srv.base, accessLines(fmt.Sprintf("m%s-%d-%d", run, w, i), 20_000))
				if err == nil {
					lines.Add(int64(n))
				}
			}
		}()
	}
	start := time.Now()
	wg.Wait()
	cancel()
	took := time.Since(start)
	ingestPeak := peak.stop()
	fmt.Printf("ingest %s: %d webhook deliveries (%.0f/s, %d refused), %d access events (%.0f/s)\n", took.Round(time.Millisecond),
		hooks.Load(), float64(hooks.Load())/took.Seconds(), hookErrs.Load(), lines.Load(), float64(lines.Load())/took.Seconds())
	fmt.Printf("  peak RSS %s = %.2f of the 1.5 GiB target; %.2fx the idle server's %s\n", mib(ingestPeak),
		float64(ingestPeak)/memTarget, float64(ingestPeak)/float64(max(idle, 1)), mib(idle))

	// Phase 2: uploads far larger than any buffer, one four times the other:
	// if memory is bounded, the larger does not grow it more.
	var growth [2]int64
	for k, size := range []int64{int64(*uploadMiB) << 18, int64(*uploadMiB) << 20} {
		before := srv.rss()
		peak := srv.sample()
		start := time.Now()
		n, err := postAccess(context.Background(), srv.base, &sizedLines{limit: size, prefix: fmt.Sprintf("big%s-%d", run, k)})
		top := peak.stop()
		if err != nil {
			return fmt.Errorf("large upload: %w", err)
		}
		growth[k] = max(top-before, 0)
		fmt.Printf("one upload of %d MiB (%d events, %.0f/s): RSS %s before, peak %s (+%s)\n", size>>20, n,
			float64(n)/time.Since(start).Seconds(), mib(before), mib(top), mib(growth[k]))
	}
	fmt.Printf("  growth with a 4x larger upload: %.2fx (bounded memory: about 1x, not 4x)\n", float64(growth[1])/float64(max(growth[0], 1<<20)))
	fmt.Printf("serve's own high-water mark (VmHWM): %s = %.2f of the target\n", mib(srv.hwm()), float64(srv.hwm())/memTarget)
	return nil
}

// memBenchConfig is the generated store's configuration plus a webhook
// secret and an ingest token for the load.
func memBenchConfig(dir string) (string, error) {
	cfg, err := config.Load(filepath.Join(dir, "changeproof.yaml"))
	if err != nil {
		return "", fmt.Errorf("read the generated configuration (run `changeproof bench generate` first): %w", err)
	}
	cfg.GitHub.WebhookSecret = memBenchSecret
	cfg.Server.Tokens = append(cfg.Server.Tokens, config.Token{Name: "bench-memory", Role: config.RoleIngest, Token: memBenchToken})
	f, err := os.CreateTemp("", "changeproof-bench-memory-*.yaml")
	if err != nil {
		return "", err
	}
	f.Close()
	if err := writeBenchConfig(f.Name(), cfg); err != nil {
		return "", err
	}
	return f.Name(), nil
}

// memDelivery is run's sender w's i-th delivery: a merged PR, one of its
// reviews, or its push, on one of the generated repositories, with numbers
// the generated history does not use.
func memDelivery(run string, w, i int) fixture.Delivery {
	n := 5_000_000 + w*1_000_000 + i/3
	repo := fixture.Repo{FullName: benchRepo(n % 200), DefaultBranch: "main"}
	at := time.Now().UTC()
	pr := fixture.PR{Repo: repo, Number: n, Author: "dev1", MergedBy: "dev2", Title: fmt.Sprintf("PAY-%d memory", n),
		HeadRef: "feature/PAY-" + strconv.Itoa(n), HeadSHA: fixture.SHA(fmt.Sprint("mh", n)),
		MergeCommitSHA: fixture.SHA(fmt.Sprint("mm", n)), Merged: true, CreatedAt: at.Add(-time.Hour), MergedAt: at}
	id := fixture.DeliveryID(fmt.Sprint("mem", run, w, i))
	switch i % 3 {
	case 0:
		return fixture.Delivery{Event: "pull_request_review", ID: id, Body: fixture.PullRequestReview("submitted",
			fixture.ReviewEvent{PR: pr, ReviewID: int64(n), Reviewer: "dev3", State: "approved", SubmittedAt: at.Add(-time.Minute)})}
	case 1:
		return fixture.Delivery{Event: "pull_request", ID: id, Body: fixture.PullRequest("closed", pr)}
	default:
		return fixture.Delivery{Event: "push", ID: id, Body: fixture.Push(fixture.PushEvent{Repo: repo, Before: fixture.SHA(fmt.Sprint("mb", n)),
			After: pr.MergeCommitSHA, Pusher: "dev2", Commits: []fixture.Commit{{SHA: pr.MergeCommitSHA, Message: pr.Title, Author: "dev1",
				Committer: "web-flow", Timestamp: at}}})}
	}
}

// accessLine is one generic access event; every tenth by someone not
// authorised, so judging has findings to record.
func accessLine(b []byte, prefix string, i int) []byte {
	who := "dev" + strconv.Itoa(i%30)
	if i%10 == 0 {
		who = "contractor-" + strconv.Itoa(i%7)
	}
	return fmt.Appendf(b, `{"id":"%s-%d","time":"%s","principal":"%s","system":"prod-db","action":"query","result":"success"}`+"\n",
		prefix, i, time.Now().UTC().Format(time.RFC3339Nano), who)
}

func accessLines(prefix string, n int) io.Reader {
	var b []byte
	for i := range n {
		b = accessLine(b, prefix, i)
	}
	return bytes.NewReader(b)
}

// sizedLines streams access lines until limit bytes, generating them as
// they are read, so the client holds none of the upload.
type sizedLines struct {
	limit, sent int64
	prefix      string
	i           int
	buf         []byte
}

func (s *sizedLines) Read(p []byte) (int, error) {
	if len(s.buf) == 0 {
		if s.sent >= s.limit {
			return 0, io.EOF
		}
		for len(s.buf) < 64<<10 {
			s.buf = accessLine(s.buf, s.prefix, s.i)
			s.i++
		}
	}
	n := copy(p, s.buf)
	s.buf = s.buf[n:]
	s.sent += int64(n)
	return n, nil
}

// postAccess posts NDJSON access events and returns how many were stored.
func postAccess(ctx context.Context, base string, body io.Reader) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/access?format=generic", body)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+memBenchToken)
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	var rep ingest.Report
	if resp.StatusCode/100 != 2 || json.Unmarshal(out, &rep) != nil {
		return 0, fmt.Errorf("POST /v1/access: %s: %.300s", resp.Status, out)
	}
	return rep.Accepted, nil
}

// serveChild is `changeproof serve` running in a child process.
type serveChild struct {
	cmd  *exec.Cmd
	base string
}

func startServeChild(cfgPath, dataDir string) (*serveChild, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	args := []string{"serve", "--config", cfgPath, "--data-dir", dataDir, "--addr", "127.0.0.1:0"}
	cmd := exec.Command(exe, args...)
	cmd.Env = os.Environ()
	if os.Getenv("CHANGEPROOF_E2E_ARGS") != "" {
		// Run by the command's tests: this binary is the test binary, which
		// acts as changeproof when told so by the environment (TestMain).
		cmd = exec.Command(exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), "CHANGEPROOF_E2E_ARGS="+strings.Join(args, "\x1f"))
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	timer := time.AfterFunc(5*time.Minute, func() { _ = cmd.Process.Kill() })
	defer timer.Stop()
	if addr, ok := awaitListening(out); ok {
		return &serveChild{cmd: cmd, base: "http://" + addr}, nil
	}
	_ = cmd.Wait()
	return nil, errors.New("serve exited before listening")
}

func (c *serveChild) status(key string) int64 {
	return procStatusOf(fmt.Sprintf("/proc/%d/status", c.cmd.Process.Pid), key)
}

func (c *serveChild) rss() int64 { return c.status("VmRSS:") }

// cpu returns the child's CPU time so far (user + system).
func (c *serveChild) cpu() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", c.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// Fields after the command name (which may hold spaces) start after ')'.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond // USER_HZ is 100 on Linux
}

// waitQuiet waits until the child uses under a tenth of a core for two
// seconds in a row, or limit passes.
func (c *serveChild) waitQuiet(limit time.Duration) {
	quiet, last := 0, c.cpu()
	for end := time.Now().Add(limit); time.Now().Before(end) && quiet < 2; {
		time.Sleep(time.Second)
		now := c.cpu()
		if now-last < 100*time.Millisecond {
			quiet++
		} else {
			quiet = 0
		}
		last = now
	}
}
func (c *serveChild) hwm() int64 { return c.status("VmHWM:") }

func (c *serveChild) stop() {
	_ = c.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = c.cmd.Process.Kill()
		<-done
	}
}

// childPeak samples a child's RSS every 20 ms until stopped.
type childPeak struct {
	peak atomic.Int64
	quit chan struct{}
	done chan struct{}
}

func (c *serveChild) sample() *childPeak {
	p := &childPeak{quit: make(chan struct{}), done: make(chan struct{})}
	p.peak.Store(c.rss())
	go func() {
		defer close(p.done)
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-p.quit:
				return
			case <-t.C:
				if v := c.rss(); v > p.peak.Load() {
					p.peak.Store(v)
				}
			}
		}
	}()
	return p
}

func (p *childPeak) stop() int64 {
	close(p.quit)
	<-p.done
	return p.peak.Load()
}
