package main

import (
	"context"
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

	"github.com/changeproof/changeproof/internal/demoorg"
	"github.com/changeproof/changeproof/internal/fixture"
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
	_, embedded := testConfig(t, "changeproof")
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
	got := settled(t, worker.addr)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("distributed findings differ from the embedded run:\n%s", diffVerdicts(got, want))
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
	for table, n := range wantRows(t, hist.Deliveries) {
		if rows[table] != n {
			t.Errorf("%s has %d rows, want %d", table, rows[table], n)
		}
	}
	if stored["raw_deliveries"] != uint64(len(hist.Deliveries)) {
		t.Errorf("raw_deliveries stores %d rows for %d deliveries", stored["raw_deliveries"], len(hist.Deliveries))
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
