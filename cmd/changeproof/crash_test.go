package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/changeproof/changeproof/enrich"
	"github.com/changeproof/changeproof/internal/testkit/demoorg"
	"github.com/changeproof/changeproof/internal/testkit/fixture"
	"github.com/changeproof/changeproof/model"
)

// TestMain lets the test binary act as the changeproof binary in a child
// process, so crash tests kill a real server and not a goroutine.
func TestMain(m *testing.M) {
	if args := os.Getenv("CHANGEPROOF_E2E_ARGS"); args != "" {
		os.Args = append([]string{"changeproof"}, strings.Split(args, "\x1f")...)
		main()
		os.Exit(0)
	}
	if spec := os.Getenv("CHANGEPROOF_LOADGEN"); spec != "" {
		os.Exit(runLoadGen(spec)) // the receiver benchmarks' sender (loadgen_test.go)
	}
	os.Exit(m.Run())
}

type child struct {
	cmd  *exec.Cmd
	addr string
}

// startChild runs `changeproof <args>` in a child process and, for serve,
// waits for its listening line.
func startChild(t *testing.T, args ...string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "CHANGEPROOF_E2E_ARGS="+strings.Join(args, "\x1f"))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	deadline := time.AfterFunc(60*time.Second, func() { _ = cmd.Process.Kill() })
	defer deadline.Stop()
	if addr, ok := awaitListening(out); ok {
		c.addr = addr
		return c
	}
	t.Fatalf("child %v exited before listening", args)
	return nil
}

func runChild(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "CHANGEPROOF_E2E_ARGS="+strings.Join(args, "\x1f"))
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("changeproof %v: %v\n%s", args, err, lastLines(string(stderr), 400))
	}
	return string(out)
}

// lastLines is the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

type verdict struct{ Rule, Subject, Outcome, Reason string }

func fetchFindings(addr string) ([]verdict, error) {
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/v1/findings", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out struct {
		Findings []model.Finding `json:"findings"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, err
	}
	var vs []verdict
	for _, f := range out.Findings {
		if f.Outcome == model.NotApplicable && strings.HasPrefix(f.Reason, "merge of ") {
			continue // provisional subjects depend on arrival order by design
		}
		vs = append(vs, verdict{f.Rule, f.Subject, string(f.Outcome), f.Reason})
	}
	return vs, nil
}

// settledTo polls the findings until they equal want, or returns the last
// ones after 90 seconds.
func settledTo(t *testing.T, addr string, want []verdict) []verdict {
	t.Helper()
	var last []verdict
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		vs, err := fetchFindings(addr)
		if err != nil {
			t.Fatal(err)
		}
		if reflect.DeepEqual(vs, want) {
			return vs
		}
		last = vs
	}
	return last
}

// settled polls the findings until they stop changing.
func settled(t *testing.T, addr string) []verdict {
	t.Helper()
	var last []verdict
	same := 0
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		vs, err := fetchFindings(addr)
		if err != nil {
			t.Fatal(err)
		}
		if len(vs) > 0 && reflect.DeepEqual(vs, last) {
			if same++; same == 12 {
				return vs
			}
		} else {
			same = 0
		}
		last = vs
	}
	t.Fatal("findings did not settle")
	return nil
}

// parseStats returns distinct and stored row counts per table.
func parseStats(t *testing.T, out string) (distinct, stored map[string]uint64) {
	distinct, stored = map[string]uint64{}, map[string]uint64{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) != 3 {
			t.Fatalf("stats line %q", line)
		}
		d, err1 := strconv.ParseUint(f[1], 10, 64)
		s, err2 := strconv.ParseUint(f[2], 10, 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("stats line %q", line)
		}
		distinct[f[0]], stored[f[0]] = d, s
	}
	return distinct, stored
}

// wantRows is what the deliveries must leave in each table: one row per
// record, however often and in whatever order they arrived.
func wantRows(t *testing.T, ds []fixture.Delivery) map[string]uint64 {
	var b model.Batch
	for _, d := range ds {
		if err := enrich.ParseGitHub(model.Delivery{Source: "github", Event: d.Event, DeliveryID: d.ID, Body: d.Body}, &b); err != nil {
			t.Fatal(err)
		}
	}
	pushes := map[string]bool{}
	for _, p := range b.Pushes {
		pushes[p.Repo+p.Ref+p.After+p.Before] = true
	}
	return map[string]uint64{"raw_deliveries": uint64(len(ds)), "pull_requests": uint64(len(b.PullRequests)),
		"reviews": uint64(len(b.Reviews)), "pushes": uint64(len(pushes)), "protection_events": uint64(len(b.Protections)),
		"dead_letters": 0}
}

// TestKillRestartResend kills the server with SIGKILL in the middle of a
// stream of deliveries, restarts it on the same data dir, re-sends
// everything, and expects the findings of an uninterrupted run and no
// duplicated row.
func TestKillRestartResend(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three servers")
	}
	hist := demoorg.Generate(demoorg.Options{Seed: 11, Now: time.Now().UTC(), PRs: 80})
	_, cfgPath := testConfig(t, "changeproof")
	ctx := context.Background()

	// Reference: one uninterrupted run on its own data dir.
	refDir := filepath.Join(t.TempDir(), "ref")
	ref := startChild(t, "serve", "--config", cfgPath, "--data-dir", refDir, "--addr", "127.0.0.1:0", "--log-format", "console")
	if _, err := sendAll(ctx, "http://"+ref.addr+"/webhooks/github", testSecret, hist.Deliveries, 4); err != nil {
		t.Fatal(err)
	}
	want := settled(t, ref.addr)
	_ = ref.cmd.Process.Signal(syscall.SIGTERM)
	_ = ref.cmd.Wait()

	dir := filepath.Join(t.TempDir(), "crash")
	srv := startChild(t, "serve", "--config", cfgPath, "--data-dir", dir, "--addr", "127.0.0.1:0", "--log-format", "console")
	accepted, _ := sendKilling(t, []string{srv.addr}, srv, hist.Deliveries, len(hist.Deliveries)/3, true)
	t.Logf("%d of %d deliveries were accepted before SIGKILL", accepted, len(hist.Deliveries))

	again := startChild(t, "serve", "--config", cfgPath, "--data-dir", dir, "--addr", "127.0.0.1:0", "--log-format", "console")
	if _, err := sendAll(ctx, "http://"+again.addr+"/webhooks/github", testSecret, hist.Deliveries, 4); err != nil {
		t.Fatal(err)
	}
	// Polled until equal (or 90 s): after the restart the spool's replay,
	// the re-send and the re-judging come one after another, and on a
	// loaded machine the findings can stand still for longer than settled's
	// 3 s between two rounds, which failed this test with verdicts still
	// to come (2026-12-07). A difference that stays is still reported.
	got := settledTo(t, again.addr, want)
	if !reflect.DeepEqual(got, want) {
		diff := diffVerdicts(got, want)
		t.Fatalf("findings after kill+restart+resend differ from an uninterrupted run:\n%s", diff)
	}
	_ = again.cmd.Process.Signal(syscall.SIGTERM)
	_ = again.cmd.Wait()

	rows, stored := parseStats(t, runChild(t, "stats", "--config", cfgPath, "--data-dir", dir))
	for table, n := range wantRows(t, hist.Deliveries) {
		if rows[table] != n {
			t.Errorf("%s has %d rows, want %d", table, rows[table], n)
		}
	}
	// The raw log is append-only: a delivery is written once, even across
	// the crash and the full re-send.
	if stored["raw_deliveries"] != uint64(len(hist.Deliveries)) {
		t.Errorf("raw_deliveries stores %d rows for %d deliveries", stored["raw_deliveries"], len(hist.Deliveries))
	}
}

func diffVerdicts(got, want []verdict) string {
	g, w := map[verdict]bool{}, map[verdict]bool{}
	for _, v := range got {
		g[v] = true
	}
	for _, v := range want {
		w[v] = true
	}
	var lines []string
	for v := range g {
		if !w[v] {
			lines = append(lines, fmt.Sprintf("+ %v", v))
		}
	}
	for v := range w {
		if !g[v] {
			lines = append(lines, fmt.Sprintf("- %v", v))
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// sendKilling sends ds round-robin to the receivers at addrs with four
// senders and kills victim with SIGKILL once `after` deliveries were
// accepted. With tolerateErrors, posts that fail (the victim was the
// receiver) are expected; without, every delivery must be answered 202 (the
// victim is not the receiver). It returns how many were accepted and when the kill was
// sent, after every delivery was tried and the victim has exited.
func sendKilling(t *testing.T, addrs []string, victim *child, ds []fixture.Delivery, after int, tolerateErrors bool) (int64, time.Time) {
	t.Helper()
	var accepted atomic.Int64
	var wg sync.WaitGroup
	jobs := make(chan fixture.Delivery)
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			url := "http://" + addrs[i%len(addrs)] + "/webhooks/github"
			for d := range jobs {
				code, err := fixture.Post(context.Background(), http.DefaultClient, url, testSecret, d)
				if err == nil && code == http.StatusAccepted {
					accepted.Add(1)
				} else if !tolerateErrors {
					t.Errorf("receiver answered %d, %v: the receivers do not depend on the killed process", code, err)
				}
			}
		}(i)
	}
	var killedAt time.Time
	for _, d := range ds {
		if killedAt.IsZero() && accepted.Load() >= int64(after) {
			killedAt = time.Now()
			if err := victim.cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			_ = victim.cmd.Wait()
		}
		jobs <- d
	}
	close(jobs)
	wg.Wait()
	if killedAt.IsZero() {
		t.Fatal("the process was never killed")
	}
	return accepted.Load(), killedAt
}
