package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/changeproof/changeproof/internal/testkit/demoorg"
	"github.com/changeproof/changeproof/internal/testkit/fixture"
	"github.com/changeproof/changeproof/model"
)

// TestDistributedReceiversKafkaWorker runs the distributed mode for real:
// two receiver processes produce to Kafka (kfake speaks the real protocol),
// one pipeline+rules+api process consumes into the embedded engine. The
// worker is killed with SIGKILL mid-stream and restarted; every delivery
// is re-sent. The findings equal an embedded single-process run's, and no
// row is duplicated.
func TestDistributedReceiversKafkaWorker(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Kafka broker and five servers")
	}
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	hist := demoorg.Generate(demoorg.Options{Seed: 5, Now: time.Now().UTC(), PRs: 60})
	_, embedded := testConfigExtra(t, "changeproof", accessConfig)
	distributed := filepath.Join(t.TempDir(), "distributed.yaml")
	base, err := os.ReadFile(embedded)
	if err != nil {
		t.Fatal(err)
	}
	extra := fmt.Sprintf("kafka:\n  brokers: [%q]\n  topic_prefix: \"e2e.\"\n  partitions: 3\n", cluster.ListenAddrs()[0])
	if err := os.WriteFile(distributed, append(base, []byte(extra)...), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	// Reference: the embedded mode, one process.
	ref := startChild(t, "serve", "--config", embedded, "--data-dir", filepath.Join(t.TempDir(), "ref"), "--addr", "127.0.0.1:0", "--log-format", "console")
	if _, err := sendAll(ctx, "http://"+ref.addr+"/webhooks/github", testSecret, hist.Deliveries, 4); err != nil {
		t.Fatal(err)
	}
	want := settled(t, ref.addr)
	_ = ref.cmd.Process.Signal(syscall.SIGTERM)
	_ = ref.cmd.Wait()

	recv := []*child{
		startChild(t, "serve", "--config", distributed, "--roles", "receiver", "--addr", "127.0.0.1:0", "--log-format", "console"),
		startChild(t, "serve", "--config", distributed, "--roles", "receiver", "--addr", "127.0.0.1:0", "--log-format", "console"),
	}
	dir := filepath.Join(t.TempDir(), "worker")
	worker := startChild(t, "serve", "--config", distributed, "--roles", "pipeline,rules,api", "--data-dir", dir, "--addr", "127.0.0.1:0", "--log-format", "console")

	// Send through both receivers; kill the worker a third of the way in.
	sendKilling(t, []string{recv[0].addr, recv[1].addr}, worker, hist.Deliveries, len(hist.Deliveries)/3, false)
	worker = startChild(t, "serve", "--config", distributed, "--roles", "pipeline,rules,api", "--data-dir", dir, "--addr", "127.0.0.1:0", "--log-format", "console")
	// Everything again, as a sender that never saw the answers would.
	if _, err := sendAll(ctx, "http://"+recv[1].addr+"/webhooks/github", testSecret, hist.Deliveries, 4); err != nil {
		t.Fatal(err)
	}
	// The restarted worker joins the group only once the killed member's
	// session has expired: wait for the embedded run's findings, not just
	// for findings that stopped changing.
	got := settledTo(t, worker.addr, want)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("distributed findings differ from the embedded run:\n%s", diffVerdicts(got, want))
	}
	// Every source through Kafka: access events and deploys through one
	// receiver, a rewrite of one of each through the other (a receiver
	// without a store cannot tell; the pipeline keeps the first and the
	// attempt), and a delivery the store cannot hold, which must not stop
	// the partition behind it.
	access := `{"id":"k-1","time":"2026-03-02T10:15:03Z","principal":"alice","system":"prod-db","action":"login","result":"success"}
{"id":"k-2","time":"2026-03-02T10:16:03Z","principal":"bob","system":"prod-db","action":"login","result":"success"}
`
	rewrite := `{"id":"k-2","time":"2026-03-02T10:16:03Z","principal":"mallory","system":"prod-db","action":"login","result":"success"}
`
	deploy := deployLine("kd-1", "production", fixture.SHA("kd"), "success", time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
	deployRewrite := deployLine("kd-1", "production", fixture.SHA("kd"), "failure", time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
	for _, p := range []struct {
		addr, path, body string
	}{
		{recv[0].addr, "/v1/access", access}, {recv[0].addr, "/v1/deploys", deploy},
		{recv[1].addr, "/v1/access", rewrite}, {recv[1].addr, "/v1/deploys", deployRewrite},
	} {
		if code, body := postAs(t, "http://"+p.addr+p.path, ingestToken, "", []byte(p.body)); code != http.StatusAccepted {
			t.Fatalf("POST %s: %d %s", p.path, code, body)
		}
	}
	if code, err := fixture.Post(ctx, http.DefaultClient, "http://"+recv[0].addr+"/webhooks/github", testSecret, yearZeroPush("k-poison")); err != nil || code != http.StatusAccepted {
		t.Fatalf("poison push: %d %v", code, err)
	}
	after := fixture.Delivery{Event: "ping", ID: "after-poison", Body: fixture.Ping(fixture.Repo{FullName: "acme/ledger"})}
	if code, err := fixture.Post(ctx, http.DefaultClient, "http://"+recv[0].addr+"/webhooks/github", testSecret, after); err != nil || code != http.StatusAccepted {
		t.Fatalf("delivery after the poison: %d %v", code, err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		f := findingOf(t, worker.addr, "AC-1", "prod-db:k-2")
		if f.Outcome != "" {
			if f.Outcome != model.Pass {
				t.Fatalf("AC-1 for k-2 = %s (%s): the first event must stay the evidence", f.Outcome, f.Reason)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("access events sent through Kafka were not judged")
		}
		time.Sleep(200 * time.Millisecond)
	}

	// With Kafka gone, a receiver must not answer 202: nothing it could
	// not hand over is acknowledged.
	cluster.Close()
	probe := fixture.Delivery{Event: "ping", ID: "after-kafka-died", Body: fixture.Ping(fixture.Repo{FullName: "acme/payments-api"})}
	pctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	code, err := fixture.Post(pctx, http.DefaultClient, "http://"+recv[0].addr+"/webhooks/github", testSecret, probe)
	cancel()
	if err == nil && code == http.StatusAccepted {
		t.Fatal("receiver answered 202 with Kafka down")
	}
	t.Logf("with Kafka down the receiver answered %d (%v)", code, err)
	for _, c := range append(recv, worker) {
		_ = c.cmd.Process.Signal(syscall.SIGTERM)
		_ = c.cmd.Wait()
	}
	rows, stored := parseStats(t, runChild(t, "stats", "--config", embedded, "--data-dir", dir))
	wantN := wantRows(t, hist.Deliveries)
	// Besides the history: 2 access events, 1 deploy, the poison push and
	// the ping after it; one dead letter, two conflicts.
	wantN["raw_deliveries"] += 5
	wantN["dead_letters"], wantN["access_events"], wantN["deploys"], wantN["conflicts"] = 1, 2, 1, 2
	for table, n := range wantN {
		if rows[table] != n {
			t.Errorf("%s has %d rows, want %d", table, rows[table], n)
		}
	}
	if stored["raw_deliveries"] != wantN["raw_deliveries"] {
		t.Errorf("raw_deliveries stores %d rows for %d records", stored["raw_deliveries"], wantN["raw_deliveries"])
	}
	var rep verifyReport
	if err := json.Unmarshal([]byte(runChild(t, "verify", "--config", embedded, "--data-dir", dir, "--format", "json")), &rep); err != nil {
		t.Fatal(err)
	}
	if !rep.OK || rep.BySource["access"] != 2 || rep.BySource["deploy"] != 1 || rep.Conflicts != 2 {
		t.Errorf("verify = %+v", rep)
	}
}

func TestRolesFlag(t *testing.T) {
	for in, want := range map[string]string{"receiver": "receiver", "pipeline,rules,api": "pipeline,rules,api", "all": "receiver,pipeline,rules,api",
		" rules , api ": "rules,api"} {
		r, err := parseRoles(in)
		if err != nil || r.String() != want {
			t.Errorf("parseRoles(%q) = %s, %v; want %s", in, r, err, want)
		}
	}
	if _, err := parseRoles("receiver,worker"); err == nil || err.Error() != `--roles: unknown role "worker" (want receiver, pipeline, rules, api, or all)` {
		t.Errorf("unknown role: %v", err)
	}
	// Without Kafka the receiver hands deliveries straight to the pipeline.
	out, err := runChildErr("serve", "--roles", "receiver", "--data-dir", t.TempDir(), "--addr", "127.0.0.1:0")
	if err == nil || !strings.Contains(out, "--roles receiver: without kafka.brokers the receiver writes straight into the pipeline, so the two run together") {
		t.Fatalf("receiver without kafka: %v\n%s", err, out)
	}
}
