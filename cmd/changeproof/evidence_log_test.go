package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"github.com/changeproof/changeproof/store/storetest"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/changeproof/changeproof/api"
	"github.com/changeproof/changeproof/internal/testkit/demoorg"
	"github.com/changeproof/changeproof/internal/testkit/fixture"
	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/store"
)

// yearZeroPush is a signed push whose repository.pushed_at is
// -62167219200 (year 0): it once stopped ingestion for good.
func yearZeroPush(id string) fixture.Delivery {
	return fixture.Delivery{Event: "push", ID: id, Body: fixture.Push(fixture.PushEvent{
		Repo: fixture.Repo{FullName: "acme/ledger", DefaultBranch: "main"}, Before: fixture.SHA("y0"), After: fixture.SHA("y1"),
		Pusher: "mallory", PushedAt: time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)})}
}

func stopChild(c *child) {
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	_ = c.cmd.Wait()
}

// TestPoisonDeliveryDoesNotStopTheLog: a delivery the store cannot hold is
// dead-lettered with its reason and the 1,000 good deliveries after it are
// stored, across a kill -9 and restart too.
func TestPoisonDeliveryDoesNotStopTheLog(t *testing.T) {
	if testing.Short() {
		t.Skip("1,001 deliveries, two servers")
	}
	hist := demoorg.Generate(demoorg.Options{Seed: 13, Now: time.Now().UTC(), PRs: 320})
	if len(hist.Deliveries) < 1000 {
		t.Fatalf("history has %d deliveries, want 1,000", len(hist.Deliveries))
	}
	good := hist.Deliveries[:1000]
	_, cfgPath := testConfig(t, "changeproof")
	dir := filepath.Join(t.TempDir(), "data")
	ctx := context.Background()
	srv := startChild(t, "serve", "--config", cfgPath, "--data-dir", dir, "--addr", "127.0.0.1:0", "--log-format", "console")
	if code, err := fixture.Post(ctx, http.DefaultClient, "http://"+srv.addr+"/webhooks/github", testSecret, yearZeroPush("poison")); err != nil || code != http.StatusAccepted {
		t.Fatalf("poison push answered %d, %v", code, err)
	}
	if _, err := sendAll(ctx, "http://"+srv.addr+"/webhooks/github", testSecret, good, 4); err != nil {
		t.Fatal(err)
	}
	// Killed at once: what the spool holds is loaded by the next start.
	_ = srv.cmd.Process.Signal(syscall.SIGKILL)
	_ = srv.cmd.Wait()
	again := startChild(t, "serve", "--config", cfgPath, "--data-dir", dir, "--addr", "127.0.0.1:0", "--log-format", "console")
	if vs := settled(t, again.addr); len(vs) == 0 {
		t.Fatal("no findings after the poison delivery")
	}
	resp, err := http.Get("http://" + again.addr + "/readyz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("readyz after a poison delivery: %v %v", resp, err)
	}
	resp.Body.Close()
	stopChild(again)
	rows, stored := parseStats(t, runChild(t, "stats", "--config", cfgPath, "--data-dir", dir))
	if rows["raw_deliveries"] != 1001 || stored["raw_deliveries"] != 1001 || rows["dead_letters"] != 1 {
		t.Fatalf("raw_deliveries %d (%d stored), dead_letters %d; want 1,001, 1,001, 1", rows["raw_deliveries"], stored["raw_deliveries"], rows["dead_letters"])
	}
	var dl struct {
		DeadLetters []store.DeadLetter `json:"deadletters"`
	}
	if err := json.Unmarshal([]byte(runChild(t, "deadletters", "--config", cfgPath, "--data-dir", dir, "--format", "json")), &dl); err != nil {
		t.Fatal(err)
	}
	want := "malformed payload: push poison: pushed_at: 0000-01-01T00:00:00Z is out of range (1970-01-01 .. 2299-12-31 UTC)"
	if len(dl.DeadLetters) != 1 || dl.DeadLetters[0].DeliveryID != "poison" || dl.DeadLetters[0].Reason != want {
		t.Fatalf("dead letters = %+v, want poison: %s", dl.DeadLetters, want)
	}
}

func postAs(t *testing.T, url, token, contentType string, body []byte) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func findingOf(t *testing.T, addr, rule, subject string) model.Finding {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/v1/findings?rule="+rule, nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Findings []model.Finding `json:"findings"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	for _, f := range out.Findings {
		if f.Subject == subject {
			return f
		}
	}
	return model.Finding{}
}

// TestConflictsAreRefusedAndKept: re-sending an access event, a deploy or
// a webhook delivery id with other content never rewrites the evidence;
// the sender is told, and the attempt is kept and listed.
func TestConflictsAreRefusedAndKept(t *testing.T) {
	_, cfgPath := testConfigExtra(t, "changeproof", accessConfig)
	dir := filepath.Join(t.TempDir(), "data")
	srv := startChild(t, "serve", "--config", cfgPath, "--data-dir", dir, "--addr", "127.0.0.1:0", "--log-format", "console")
	base := "http://" + srv.addr

	first := `{"id":"db-7781","time":"2026-03-02T10:15:03Z","principal":"mallory","system":"prod-db","action":"psql login","result":"success"}`
	rewrite := `{"id":"db-7781","time":"2026-03-02T10:15:03Z","principal":"alice","system":"prod-db","action":"psql login","result":"success"}`
	other := `{"id":"db-7782","time":"2026-03-02T10:16:00Z","principal":"alice","system":"prod-db","action":"psql login","result":"success"}`
	if code, body := postAs(t, base+"/v1/access", ingestToken, "", []byte(first+"\n")); code != http.StatusAccepted {
		t.Fatalf("first upload: %d %s", code, body)
	}
	waitFinding := func(rule, subject string) model.Finding {
		var f model.Finding
		deadline := time.Now().Add(30 * time.Second)
		for f.Outcome == "" && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
			f = findingOf(t, srv.addr, rule, subject)
		}
		if f.Outcome == "" {
			t.Fatalf("no %s finding for %s", rule, subject)
		}
		return f
	}
	before := waitFinding("AC-1", "prod-db:db-7781")
	if before.Outcome != model.Fail {
		t.Fatalf("AC-1 for mallory = %s (%s), want fail", before.Outcome, before.Reason)
	}
	// The same line again is idempotent; another line under its id is
	// refused with a reason naming the conflict, beside a good line.
	code, body := postAs(t, base+"/v1/access", ingestToken, "", []byte(first+"\n"+rewrite+"\n"+other+"\n"))
	shaFirst := sha256Hex([]byte(first))
	wantBody := fmt.Sprintf(`{"accepted":2,"rejected":[{"line":2,"error":"id prod-db:db-7781 already holds a different event (sha256 %s…); the first is kept"}]}`, shaFirst[:8])
	if code != http.StatusAccepted || strings.TrimSpace(body) != wantBody {
		t.Fatalf("re-send: %d %s\nwant 202 %s", code, body, wantBody)
	}
	// Every line refused: 422, not a 2xx.
	if code, body := postAs(t, base+"/v1/access", ingestToken, "", []byte(rewrite+"\n")); code != http.StatusUnprocessableEntity || !strings.Contains(body, "already holds a different event") {
		t.Fatalf("conflict-only upload: %d %s", code, body)
	}

	deploy := deployLine("deploy-1842", "production", fixture.SHA("conf"), "failure", time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
	deployRewrite := deployLine("deploy-1842", "production", fixture.SHA("conf"), "success", time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
	if code, body := postAs(t, base+"/v1/deploys", ingestToken, "", []byte(deploy)); code != http.StatusAccepted {
		t.Fatalf("deploy: %d %s", code, body)
	}
	if code, body := postAs(t, base+"/v1/deploys", ingestToken, "", []byte(deployRewrite)); code != http.StatusUnprocessableEntity ||
		!strings.Contains(body, "id deploy-1842 already holds a different event (sha256 "+sha256Hex([]byte(deploy))[:8]) {
		t.Fatalf("deploy re-sent with another status: %d %s", code, body)
	}

	ctx := context.Background()
	ping := fixture.Delivery{Event: "ping", ID: "hook-1", Body: fixture.Ping(fixture.Repo{FullName: "acme/ledger"})}
	if code, err := fixture.Post(ctx, http.DefaultClient, base+"/webhooks/github", testSecret, ping); err != nil || code != http.StatusAccepted {
		t.Fatalf("ping: %d %v", code, err)
	}
	forged := ping
	forged.Body = fixture.Ping(fixture.Repo{FullName: "acme/payments-api"})
	if code, err := fixture.Post(ctx, http.DefaultClient, base+"/webhooks/github", testSecret, forged); err != nil || code != http.StatusConflict {
		t.Fatalf("delivery id re-used with another body: %d %v, want 409", code, err)
	}
	if code, err := fixture.Post(ctx, http.DefaultClient, base+"/webhooks/github", testSecret, ping); err != nil || code != http.StatusAccepted {
		t.Fatalf("the same delivery again: %d %v, want 202", code, err)
	}
	// Bytes that are not UTF-8 are kept exactly; verify agrees below.
	latin1 := fixture.Delivery{Event: "ping", ID: "hook-latin1", Body: []byte("{\"zen\":\"caf\xe9\",\"hook_id\":1}")}
	if code, err := fixture.Post(ctx, http.DefaultClient, base+"/webhooks/github", testSecret, latin1); err != nil || code != http.StatusAccepted {
		t.Fatalf("latin-1 delivery: %d %v", code, err)
	}

	after := waitFinding("AC-1", "prod-db:db-7782")
	_ = after
	if f := findingOf(t, srv.addr, "AC-1", "prod-db:db-7781"); f.Outcome != before.Outcome || f.Reason != before.Reason {
		t.Fatalf("AC-1 after the rewrite attempt = %s (%s), want %s (%s)", f.Outcome, f.Reason, before.Outcome, before.Reason)
	}
	// The pipeline counts a conflict when it loads it, shortly after the
	// answer.
	var missing []string
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		resp, err := http.Get(base + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		metrics, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		missing = missing[:0]
		for _, want := range []string{`changeproof_conflicts_total{source="access"} 2`, `changeproof_conflicts_total{source="deploy"} 1`, `changeproof_conflicts_total{source="github"} 1`} {
			if !strings.Contains(string(metrics), want) {
				missing = append(missing, want)
			}
		}
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
	}
	if len(missing) > 0 {
		t.Errorf("/metrics lacks %v", missing)
	}
	stopChild(srv)

	var listed struct {
		Conflicts []store.StoredConflict `json:"conflicts"`
	}
	if err := json.Unmarshal([]byte(runChild(t, "conflicts", "--config", cfgPath, "--data-dir", dir, "--format", "json")), &listed); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range listed.Conflicts {
		got = append(got, c.Source+" "+c.ID)
	}
	if want := "access prod-db:db-7781,deploy deploy-1842,github hook-1"; strings.Join(got, ",") != want {
		t.Fatalf("conflicts = %v, want %s", got, want)
	}
	var rep api.VerifyReport
	if err := json.Unmarshal([]byte(runChild(t, "verify", "--config", cfgPath, "--data-dir", dir, "--format", "json")), &rep); err != nil {
		t.Fatal(err)
	}
	if !rep.OK || rep.FirstBroken != nil || rep.BySource["access"] != 2 || rep.BySource["deploy"] != 1 || rep.BySource["github"] != 2 || rep.Conflicts != 3 {
		t.Fatalf("verify = %+v", rep)
	}
}

// TestVerifyFindsAlteredEvidenceOfEverySource alters a stored deploy, an
// access event and removes a GitHub delivery's link; verify reports each,
// named by source and id.
func TestVerifyFindsAlteredEvidenceOfEverySource(t *testing.T) {
	e := startOps(t, "ev_verify", accessConfig)
	h := buildChain()
	code, rep := e.post(t, "/v1/deploys", chainDeploys(h))
	if code != http.StatusAccepted || len(rep.Rejected) != 0 {
		t.Fatalf("deploys: %d %+v", code, rep)
	}
	access := `{"id":"v-1","time":"2026-03-02T10:15:03Z","principal":"alice","system":"prod-db","action":"login","result":"success"}
{"id":"v-2","time":"2026-03-02T10:16:03Z","principal":"bob","system":"prod-db","action":"login","result":"success"}
`
	if code, rep := e.post(t, "/v1/access", []byte(access)); code != http.StatusAccepted || rep.Accepted != 2 {
		t.Fatalf("access: %d %+v", code, rep)
	}
	e.webhooks(t, h.deliveries...)
	e.settle(t)
	ctx := context.Background()
	st := e.a.store
	clean, err := (&api.Admin{Store: st}).Verify(ctx, time.Time{}, time.Time{})
	if err != nil || !clean.OK || clean.BySource["deploy"] == 0 || clean.BySource["access"] != 2 || clean.BySource["github"] != uint64(len(h.deliveries)) {
		t.Fatalf("verify before tampering = %+v, %v", clean, err)
	}
	for _, sql := range []string{
		"ALTER TABLE raw_deliveries UPDATE body = replaceOne(body, 'failure', 'success') WHERE source = 'deploy' AND delivery_id = 'd3-failed'",
		"ALTER TABLE raw_deliveries UPDATE body = replaceOne(body, 'bob', 'eve') WHERE source = 'access' AND delivery_id = 'prod-db:v-2'",
		"ALTER TABLE raw_deliveries DELETE WHERE source = 'github' AND delivery_id = '" + h.deliveries[1].ID + "'",
	} {
		if err := storetest.DB(st).Exec(ctx, sql+" SETTINGS mutations_sync = 2", nil); err != nil {
			t.Fatal(err)
		}
	}
	res, err := (&api.Admin{Store: st}).Verify(ctx, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, b := range res.Broken {
		w := strings.SplitN(b.Problem, " ", 3)
		got = append(got, b.Source+" "+b.DeliveryID+": "+w[0]+" "+w[1])
	}
	if res.OK || res.FirstBroken == nil || res.BrokenCount != 3 {
		t.Fatalf("verify after tampering = %+v", res)
	}
	joined := strings.Join(got, "\n")
	for _, want := range []string{"deploy ", "access prod-db:v-2: body does", "link "} {
		if !strings.Contains(joined, want) {
			t.Errorf("broken links:\n%s\nlack %q", joined, want)
		}
	}
	b, _ := json.Marshal(res)
	for _, key := range []string{`"ok":false`, `"links":`, `"by_source":{`, `"conflicts":0`, `"first_broken":{"chain":"","link":`} {
		if !bytes.Contains(b, []byte(key)) {
			t.Errorf("verify JSON %s lacks %s", b, key)
		}
	}
}

// TestKillDuringUploads: uploads of deploys and access events interrupted
// by kill -9: every line answered 202 is stored once after the restart,
// and a full re-send stores the rest once.
func TestKillDuringUploads(t *testing.T) {
	if testing.Short() {
		t.Skip("two servers, 300 uploads")
	}
	_, cfgPath := testConfigExtra(t, "changeproof", accessConfig)
	dir := filepath.Join(t.TempDir(), "data")
	srv := startChild(t, "serve", "--config", cfgPath, "--data-dir", dir, "--addr", "127.0.0.1:0", "--log-format", "console")
	const uploads, lines = 300, 40
	body := func(i int) (path string, b []byte) {
		var sb strings.Builder
		if i%3 == 0 {
			for j := 0; j < lines; j++ {
				sb.WriteString(deployLine(fmt.Sprintf("k-%d-%d", i, j), "production", fixture.SHA(fmt.Sprint(i, j)), "success",
					time.Date(2026, 3, 2, 10, 0, j, 0, time.UTC)) + "\n")
			}
			return "/v1/deploys", []byte(sb.String())
		}
		for j := 0; j < lines; j++ {
			fmt.Fprintf(&sb, `{"id":"k-%d-%d","time":"2026-03-02T10:15:03Z","principal":"alice","system":"prod-db","action":"login","result":"success"}`+"\n", i, j)
		}
		return "/v1/access", []byte(sb.String())
	}
	var answered atomic.Int64
	var answeredAccess, answeredDeploys atomic.Int64
	send := func(addr string, killAfter int64, victim *child) {
		jobs := make(chan int)
		var wg sync.WaitGroup
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range jobs {
					path, b := body(i)
					req, _ := http.NewRequest(http.MethodPost, "http://"+addr+path, bytes.NewReader(b))
					req.Header.Set("Authorization", "Bearer "+ingestToken)
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						continue
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode == http.StatusAccepted && victim != nil {
						answered.Add(1)
						if path == "/v1/access" {
							answeredAccess.Add(lines)
						} else {
							answeredDeploys.Add(lines)
						}
					}
				}
			}()
		}
		killed := false
		for i := 0; i < uploads; i++ {
			if victim != nil && !killed && answered.Load() >= killAfter {
				killed = true
				_ = victim.cmd.Process.Signal(syscall.SIGKILL)
				_ = victim.cmd.Wait()
			}
			jobs <- i
		}
		close(jobs)
		wg.Wait()
	}
	send(srv.addr, uploads/3, srv)
	t.Logf("%d uploads answered 202 before kill -9 (%d access events, %d deploys)", answered.Load(), answeredAccess.Load(), answeredDeploys.Load())

	again := startChild(t, "serve", "--config", cfgPath, "--data-dir", dir, "--addr", "127.0.0.1:0", "--log-format", "console")
	stopChild(again) // loads what the spool holds
	rows, stored := parseStats(t, runChild(t, "stats", "--config", cfgPath, "--data-dir", dir))
	if rows["access_events"] < uint64(answeredAccess.Load()) || rows["deploys"] < uint64(answeredDeploys.Load()) {

		t.Fatalf("after the restart %d access events and %d deploys are stored; %d and %d were answered 202",
			rows["access_events"], rows["deploys"], answeredAccess.Load(), answeredDeploys.Load())
	}
	if stored["raw_deliveries"] != rows["raw_deliveries"] {
		t.Fatalf("raw log holds %d rows for %d events: something was stored twice", stored["raw_deliveries"], rows["raw_deliveries"])
	}

	again = startChild(t, "serve", "--config", cfgPath, "--data-dir", dir, "--addr", "127.0.0.1:0", "--log-format", "console")
	send(again.addr, 0, nil)
	stopChild(again)
	rows, stored = parseStats(t, runChild(t, "stats", "--config", cfgPath, "--data-dir", dir))
	wantAccess, wantDeploys := uint64(uploads*2/3*lines), uint64(uploads/3*lines)
	if rows["access_events"] != wantAccess || rows["deploys"] != wantDeploys || rows["raw_deliveries"] != wantAccess+wantDeploys ||
		stored["raw_deliveries"] != wantAccess+wantDeploys || rows["conflicts"] != 0 {
		t.Fatalf("after a full re-send: %d access events, %d deploys, raw log %d (%d stored), %d conflicts; want %d, %d, %d, 0",
			rows["access_events"], rows["deploys"], rows["raw_deliveries"], stored["raw_deliveries"], rows["conflicts"], wantAccess, wantDeploys, wantAccess+wantDeploys)
	}
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
