package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.yaml.in/yaml/v3"

	"github.com/changeproof/changeproof/transport"
)

// opsQueries returns every PromQL expression of the Prometheus rules and the
// Grafana dashboards in deploy/, by file.
func opsQueries(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	rules, _ := filepath.Glob("../../deploy/prometheus/*.yml")
	for _, p := range rules {
		if strings.HasSuffix(p, ".test.yml") {
			continue
		}
		var f struct {
			Groups []struct {
				Rules []struct {
					Expr string `yaml:"expr"`
				} `yaml:"rules"`
			} `yaml:"groups"`
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := yaml.Unmarshal(b, &f); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		for _, g := range f.Groups {
			for _, r := range g.Rules {
				out[p] = append(out[p], r.Expr)
			}
		}
	}
	dashboards, _ := filepath.Glob("../../deploy/grafana/*.json")
	for _, p := range dashboards {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var d any
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		// Every "expr" (panel targets) and "definition" (template variables).
		var walk func(v any)
		walk = func(v any) {
			switch v := v.(type) {
			case map[string]any:
				for k, x := range v {
					if s, ok := x.(string); ok && (k == "expr" || k == "definition") {
						out[p] = append(out[p], s)
					}
					walk(x)
				}
			case []any:
				for _, x := range v {
					walk(x)
				}
			}
		}
		walk(d)
	}
	if len(rules) == 0 || len(dashboards) == 0 {
		t.Fatalf("rules %v, dashboards %v: want both", rules, dashboards)
	}
	return out
}

var metricName = regexp.MustCompile(`\bchangeproof_[a-zA-Z0-9_]+`)

// registered reports whether the process registered a collector named
// name: registering a probe of that name with other labels and help fails
// exactly when one exists.
func registered(t *testing.T, name string) bool {
	t.Helper()
	probe := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: "probe"}, []string{"probe_only_label"})
	if err := prometheus.DefaultRegisterer.Register(probe); err != nil {
		return true
	}
	prometheus.DefaultRegisterer.Unregister(probe)
	return false
}

// Every metric the alerting rules and the dashboard query is one the
// product registers: the collectors of every package this binary links, the
// Kafka ones once a producer exists (as in the distributed mode).
func TestOpsAssetsQueryRealMetrics(t *testing.T) {
	p, err := transport.NewProducer(transport.Options{Brokers: []string{"127.0.0.1:9"}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	used := map[string][]string{}
	for file, exprs := range opsQueries(t) {
		for _, e := range exprs {
			for _, m := range metricName.FindAllString(e, -1) {
				used[m] = append(used[m], filepath.Base(file))
			}
		}
	}
	if len(used) < 20 {
		t.Fatalf("only %d metrics queried: %v", len(used), used)
	}
	var missing []string
	for m, files := range used {
		base := m
		for _, suf := range []string{"_bucket", "_sum", "_count"} {
			if b, ok := strings.CutSuffix(m, suf); ok && registered(t, b) {
				base = b
			}
		}
		if !registered(t, base) {
			missing = append(missing, m+" (in "+strings.Join(files, ", ")+")")
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("queried but not registered:\n%s", strings.Join(missing, "\n"))
	}
	if registered(t, "changeproof_no_such_metric") {
		t.Error("the probe finds a metric that does not exist")
	}
}

// An embedded server exports its build and readiness, and no Kafka series.
func TestEmbeddedMetricsHaveNoKafka(t *testing.T) {
	_, cfgPath := testConfig(t, "ops_metrics")
	srv := startChild(t, "serve", "--config", cfgPath, "--data-dir", t.TempDir(), "--addr", "127.0.0.1:0")
	resp, err := http.Get("http://" + srv.addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	body := string(b)
	if strings.Contains(body, "changeproof_kafka_") {
		t.Errorf("embedded server exports Kafka metrics:\n%s", grepLines(body, "changeproof_kafka_"))
	}
	for _, want := range []string{"changeproof_build_info{", "changeproof_ready 1", "changeproof_spool_backlog_bytes "} {
		if !strings.Contains(body, want) {
			t.Errorf("no %q in /metrics", want)
		}
	}
	// Prometheus' own linter: names, suffixes, units, help texts.
	if promtool, err := exec.LookPath("promtool"); err == nil {
		cmd := exec.Command(promtool, "check", "metrics")
		cmd.Stdin = strings.NewReader(body)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool check metrics: %v\n%s", err, out)
		}
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
