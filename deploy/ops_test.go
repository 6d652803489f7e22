package deploy_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// promtool checks the alerting rules and runs their unit tests (each alert
// fires on the series that should raise it). The test that every metric
// they query exists is in cmd/changeproof (it needs the whole binary's
// collectors).
func TestPrometheusRules(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not installed (Debian: apt-get install prometheus); .ci/run installs it")
	}
	dir := filepath.Join(root, "deploy", "prometheus")
	for _, args := range [][]string{
		{"check", "rules", "changeproof-alerts.yml"},
		{"test", "rules", "changeproof-alerts.test.yml"},
	} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %v: %v\n%s", args, err, out)
		}
	}
}

// The dashboard imports into any Grafana: the data source is a variable,
// panel ids are unique, every query panel uses the variable.
func TestGrafanaDashboard(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(root, "deploy", "grafana", "changeproof.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		UID        string `json:"uid"`
		Title      string `json:"title"`
		Templating struct {
			List []struct {
				Name, Type string
			} `json:"list"`
		} `json:"templating"`
		Panels []struct {
			ID         int    `json:"id"`
			Type       string `json:"type"`
			Title      string `json:"title"`
			Datasource struct {
				UID string `json:"uid"`
			} `json:"datasource"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	if d.UID == "" || d.Title == "" {
		t.Errorf("uid %q title %q", d.UID, d.Title)
	}
	vars := map[string]string{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v.Type
	}
	if vars["datasource"] != "datasource" || vars["instance"] != "query" {
		t.Errorf("template variables %v, want datasource and instance", vars)
	}
	ids := map[int]string{}
	queries := 0
	for _, p := range d.Panels {
		if prev, dup := ids[p.ID]; dup {
			t.Errorf("panel id %d on %q and %q", p.ID, prev, p.Title)
		}
		ids[p.ID] = p.Title
		if p.Type == "row" {
			continue
		}
		if p.Datasource.UID != "${datasource}" {
			t.Errorf("panel %q: data source %q, want ${datasource}", p.Title, p.Datasource.UID)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, q := range p.Targets {
			if q.Expr == "" {
				t.Errorf("panel %q: empty query", p.Title)
			}
			queries++
		}
	}
	if queries < 20 {
		t.Errorf("%d queries", queries)
	}
}

// Every dashboard query parses as PromQL: with Grafana's variables given
// values, they are checked by promtool as recording rules.
func TestGrafanaQueriesParse(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not installed (Debian: apt-get install prometheus); .ci/run installs it")
	}
	b, err := os.ReadFile(filepath.Join(root, "deploy", "grafana", "changeproof.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	vars := strings.NewReplacer("$__rate_interval", "5m", "$__range", "6h", "$instance", ".*")
	var rules strings.Builder
	rules.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	n := 0
	for _, p := range d.Panels {
		for _, q := range p.Targets {
			n++
			e, _ := json.Marshal(vars.Replace(q.Expr)) // a JSON string is a YAML string
			fmt.Fprintf(&rules, "      - record: dashboard:query%d\n        expr: %s\n", n, e)
		}
	}
	path := filepath.Join(t.TempDir(), "dashboard-queries.yml")
	if err := os.WriteFile(path, []byte(rules.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(promtool, "check", "rules", path).CombinedOutput(); err != nil {
		t.Errorf("dashboard queries: %v\n%s", err, out)
	}
}

// generatedSecrets returns a kustomization's secretGenerator: secret name ->
// key -> file. A generator with literals or env files fails the test: a
// value written into the kustomization would be applied as is.
func generatedSecrets(t *testing.T, kust manifest) map[string]map[string]string {
	t.Helper()
	out := map[string]map[string]string{}
	gens, _ := kust.obj["secretGenerator"].([]any)
	for _, g := range gens {
		g := mapOr(g)
		name := str(g["name"])
		if g["literals"] != nil || g["envs"] != nil || g["env"] != nil {
			t.Errorf("%s: secretGenerator %s has literal values", kust.file, name)
		}
		out[name] = map[string]string{}
		for _, f := range strList(t, g["files"]) {
			k, file, ok := strings.Cut(f, "=")
			if !ok {
				k, file = filepath.Base(f), f
			}
			if !strings.HasPrefix(file, "secrets/") {
				t.Errorf("%s: secret file %s outside secrets/ (which git ignores)", kust.file, file)
			}
			out[name][k] = file
		}
	}
	return out
}

// initSecrets runs an init-secrets.sh into a temporary directory and
// returns what it created, file name -> value.
func initSecrets(t *testing.T, script string) map[string]string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("sh", script, dir).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", script, err, out)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = strings.TrimRight(string(b), "\n")
	}
	// Kept on a second run.
	if b, err := exec.Command("sh", script, dir).CombinedOutput(); err != nil || strings.Contains(string(b), "created") {
		t.Errorf("second run of %s: %v\n%s", script, err, b)
	}
	return out
}

// Real secrets never reach git: secrets/ ignores everything but its README.
func TestKubernetesSecretsStayOutOfGit(t *testing.T) {
	for _, dir := range []string{"kubernetes/secrets", "kubernetes/embedded/secrets"} {
		b, err := os.ReadFile(filepath.Join(root, "deploy", dir, ".gitignore"))
		if err != nil {
			t.Errorf("%s: %v", dir, err)
			continue
		}
		if lines := strings.Fields(string(b)); !slices.Contains(lines, "*") || !slices.Contains(lines, "!README.md") {
			t.Errorf("%s/.gitignore = %q: want * with README.md kept", dir, b)
		}
	}
}

// kustomize builds both kustomizations once init-secrets.sh has made the
// files, every secretName then names the generated Secret, and without the
// files the build fails: nothing can be applied with a missing secret.
func TestKustomizeBuilds(t *testing.T) {
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("kubectl not installed: kustomize builds not checked (the manifests are still parsed by the other tests)")
	}
	tmp := t.TempDir()
	if out, err := exec.Command("cp", "-r", filepath.Join(root, "deploy", "kubernetes"), tmp).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v\n%s", err, out)
	}
	k := filepath.Join(tmp, "kubernetes")
	for _, dir := range []string{k, filepath.Join(k, "embedded")} {
		// Without the secret files, no build.
		if out, err := exec.Command(kubectl, "kustomize", dir).CombinedOutput(); err == nil {
			t.Errorf("%s builds without its secret files:\n%.300s", dir, out)
		}
		if out, err := exec.Command("sh", filepath.Join(k, "init-secrets.sh"), filepath.Join(dir, "secrets")).CombinedOutput(); err != nil {
			t.Fatalf("init-secrets.sh: %v\n%s", err, out)
		}
		out, err := exec.Command(kubectl, "kustomize", dir).Output()
		if err != nil {
			t.Fatalf("kubectl kustomize %s: %v", dir, err)
		}
		secrets := map[string]bool{}
		var refs []string
		var walk func(v any)
		walk = func(v any) {
			switch v := v.(type) {
			case map[string]any:
				if s, ok := v["secretName"].(string); ok {
					refs = append(refs, s)
				}
				for _, x := range v {
					walk(x)
				}
			case []any:
				for _, x := range v {
					walk(x)
				}
			}
		}
		dec := yaml.NewDecoder(bytes.NewReader(out))
		for {
			var doc map[string]any
			if err := dec.Decode(&doc); err != nil {
				break
			}
			if doc["kind"] == "Secret" {
				secrets[str(mapOr(doc["metadata"])["name"])] = true
			}
			walk(doc)
		}
		if len(secrets) != 1 || len(refs) == 0 {
			t.Errorf("%s: Secrets %v, references %v", dir, secrets, refs)
		}
		for _, r := range refs {
			if !secrets[r] {
				t.Errorf("%s: secretName %s is not the generated Secret %v", dir, r, secrets)
			}
		}
	}
}
