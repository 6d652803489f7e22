// Package deploy_test checks the deployment assets without running them
// (no Docker or Kubernetes needed): docker-compose.yml, the Dockerfile, the
// Kubernetes manifests and the ClickHouse cluster example parse, are wired
// to each other consistently, and every changeproof configuration among
// them loads through the real config package, secrets and all.
package deploy_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/changeproof/changeproof/config"
)

// root is the repository root; tests run in deploy/.
const root = ".."

// allRoles are the values of serve --roles.
var allRoles = []string{"receiver", "pipeline", "rules", "api"}

// ---------------------------------------------------------------------------
// docker-compose.yml

func TestComposeServices(t *testing.T) {
	c := readYAML(t, filepath.Join(root, "docker-compose.yml"))
	services := mapAt(t, c, "services")
	for _, name := range []string{"kafka", "clickhouse", "receiver", "worker"} {
		svc := mapAt(t, services, name)
		hc := mapAt(t, svc, "healthcheck")
		if test := strList(t, hc["test"]); len(test) < 2 {
			t.Errorf("services.%s.healthcheck.test = %v, want a command", name, hc["test"])
		}
		if disabled, _ := hc["disable"].(bool); disabled {
			t.Errorf("services.%s.healthcheck is disabled", name)
		}
	}
	topVolumes := mapAt(t, c, "volumes")

	// Kafka: a single KRaft node, no ZooKeeper.
	kafka := mapAt(t, services, "kafka")
	if img := str(kafka["image"]); !strings.HasPrefix(img, "apache/kafka:") {
		t.Errorf("kafka image = %q, want the official apache/kafka", img)
	}
	kenv := envMap(t, kafka["environment"])
	for k, want := range map[string]string{
		"KAFKA_PROCESS_ROLES":                    "broker,controller",
		"KAFKA_LISTENERS":                        "PLAINTEXT://:9092,CONTROLLER://:9093",
		"KAFKA_ADVERTISED_LISTENERS":             "PLAINTEXT://kafka:9092",
		"KAFKA_CONTROLLER_LISTENER_NAMES":        "CONTROLLER",
		"KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": "1",
	} {
		if kenv[k] != want {
			t.Errorf("kafka environment %s = %q, want %q", k, kenv[k], want)
		}
	}
	if _, err := strconv.Atoi(kenv["KAFKA_NODE_ID"]); err != nil {
		t.Errorf("kafka KAFKA_NODE_ID = %q, want a number", kenv["KAFKA_NODE_ID"])
	}
	if want := kenv["KAFKA_NODE_ID"] + "@kafka:9093"; kenv["KAFKA_CONTROLLER_QUORUM_VOTERS"] != want {
		t.Errorf("kafka KAFKA_CONTROLLER_QUORUM_VOTERS = %q, want %q (this node, on the CONTROLLER listener)", kenv["KAFKA_CONTROLLER_QUORUM_VOTERS"], want)
	}
	if !regexp.MustCompile(`^[A-Za-z0-9_-]{22}$`).MatchString(kenv["CLUSTER_ID"]) {
		t.Errorf("kafka CLUSTER_ID = %q, want a 22-character base64 UUID (kafka-storage.sh random-uuid)", kenv["CLUSTER_ID"])
	}
	for k := range kenv {
		if strings.Contains(k, "ZOOKEEPER") {
			t.Errorf("kafka environment has %s: KRaft mode has no ZooKeeper", k)
		}
	}
	if !strings.Contains(strings.Join(strList(t, mapAt(t, kafka, "healthcheck")["test"]), " "), "/opt/kafka/bin/kafka-") {
		t.Errorf("kafka healthcheck does not use the Kafka CLI tools: %v", mapAt(t, kafka, "healthcheck")["test"])
	}
	checkNamedVolume(t, "kafka", kafka, topVolumes, kenv["KAFKA_LOG_DIRS"])

	// ClickHouse: one server.
	ch := mapAt(t, services, "clickhouse")
	if img := str(ch["image"]); !strings.HasPrefix(img, "clickhouse/clickhouse-server:") {
		t.Errorf("clickhouse image = %q, want clickhouse/clickhouse-server", img)
	}
	checkNamedVolume(t, "clickhouse", ch, topVolumes, "/var/lib/clickhouse")
	nofile := mapAt(t, mapAt(t, ch, "ulimits"), "nofile")
	for _, k := range []string{"soft", "hard"} {
		if n, _ := nofile[k].(int); n < 262144 {
			t.Errorf("clickhouse ulimits.nofile.%s = %v, want at least 262144", k, nofile[k])
		}
	}
	hc := strings.Join(strList(t, mapAt(t, ch, "healthcheck")["test"]), " ")
	if !strings.Contains(hc, "/ping") && !strings.Contains(hc, "SELECT 1") {
		t.Errorf("clickhouse healthcheck %q neither pings nor queries", hc)
	}

	// The changeproof roles.
	var roles []string
	for name, want := range map[string]struct {
		roles     string
		port      string
		dependsOn []string
	}{
		"receiver": {"receiver", "8080:8080", []string{"kafka"}},
		"worker":   {"pipeline,rules,api", "8081:8080", []string{"kafka", "clickhouse"}},
	} {
		svc := mapAt(t, services, name)
		build := svc["build"]
		if b, ok := build.(map[string]any); ok {
			build = b["context"]
		}
		if build != "." {
			t.Errorf("services.%s.build = %v, want the repository root", name, svc["build"])
		}
		cmd := strList(t, svc["command"])
		if len(cmd) == 0 || cmd[0] != "serve" {
			t.Errorf("services.%s.command = %v, want serve ...", name, cmd)
		}
		if got := flagValue(cmd, "--roles"); got != want.roles {
			t.Errorf("services.%s --roles = %q, want %q", name, got, want.roles)
		}
		roles = append(roles, strings.Split(flagValue(cmd, "--roles"), ",")...)
		cfgPath := flagValue(cmd, "--config")
		if mount := "./deploy/compose/changeproof.yaml:" + cfgPath + ":ro"; cfgPath == "" || !slices.Contains(strList(t, svc["volumes"]), mount) {
			t.Errorf("services.%s does not mount the config read-only at its --config %q: volumes %v", name, cfgPath, svc["volumes"])
		}
		if ports := strList(t, svc["ports"]); !slices.Contains(ports, want.port) {
			t.Errorf("services.%s.ports = %v, want %s", name, ports, want.port)
		}
		env := envMap(t, svc["environment"])
		if env["CHANGEPROOF_KAFKA_BROKERS"] != "kafka:9092" || env["CHANGEPROOF_CLICKHOUSE_ADDR"] != "clickhouse:9000" {
			t.Errorf("services.%s environment = %v, want CHANGEPROOF_KAFKA_BROKERS=kafka:9092 and CHANGEPROOF_CLICKHOUSE_ADDR=clickhouse:9000", name, env)
		}
		deps := mapAt(t, svc, "depends_on")
		for _, d := range want.dependsOn {
			if cond := str(mapAt(t, deps, d)["condition"]); cond != "service_healthy" {
				t.Errorf("services.%s.depends_on.%s.condition = %q, want service_healthy", name, d, cond)
			}
		}
		// Healthy means ready to take events, which depends_on relies on.
		if hc := strings.Join(strList(t, mapAt(t, svc, "healthcheck")["test"]), " "); !strings.Contains(hc, "/readyz") {
			t.Errorf("services.%s healthcheck %q does not probe /readyz", name, hc)
		}
	}
	sort.Strings(roles)
	want := slices.Sorted(slices.Values(allRoles))
	if !slices.Equal(roles, want) {
		t.Errorf("the compose services run roles %v, want each of %v exactly once", roles, want)
	}

	// Every secret a service uses is declared, from a file under
	// deploy/compose/secrets/ that has an .example beside it.
	topSecrets := mapAt(t, c, "secrets")
	for name, s := range topSecrets {
		file := str(mapOr(s)["file"])
		if !strings.HasPrefix(file, "./deploy/compose/secrets/") || filepath.Base(file) != name {
			t.Errorf("secrets.%s.file = %q, want ./deploy/compose/secrets/%s", name, file, name)
		}
		if _, err := os.Stat(filepath.Join(root, file+".example")); err != nil {
			t.Errorf("secrets.%s: no placeholder %s.example: %v", name, file, err)
		}
	}
	for svcName, svc := range services {
		for _, s := range serviceSecrets(t, svc.(map[string]any)) {
			if _, ok := topSecrets[s]; !ok {
				t.Errorf("services.%s uses secret %q, which is not declared", svcName, s)
			}
		}
	}
}

// checkNamedVolume asserts that svc keeps dir on a named volume.
func checkNamedVolume(t *testing.T, name string, svc, topVolumes map[string]any, dir string) {
	t.Helper()
	if dir == "" {
		t.Errorf("services.%s: no data directory to check", name)
		return
	}
	for _, v := range strList(t, svc["volumes"]) {
		src, target, _ := strings.Cut(v, ":")
		target, _, _ = strings.Cut(target, ":")
		if target != dir {
			continue
		}
		if _, ok := topVolumes[src]; !ok {
			t.Errorf("services.%s mounts %q at %s, which is no named volume of the top-level volumes", name, src, dir)
		}
		return
	}
	t.Errorf("services.%s keeps %s on no volume: %v", name, dir, svc["volumes"])
}

// serviceSecrets lists the secrets a compose service mounts (short syntax).
func serviceSecrets(t *testing.T, svc map[string]any) []string {
	t.Helper()
	var out []string
	list, _ := svc["secrets"].([]any)
	for _, s := range list {
		switch s := s.(type) {
		case string:
			out = append(out, s)
		case map[string]any:
			if tgt := str(s["target"]); tgt != "" && tgt != str(s["source"]) {
				t.Errorf("secret %v mounted under another name; the test expects /run/secrets/<name>", s)
			}
			out = append(out, str(s["source"]))
		}
	}
	return out
}

func TestComposeConfigLoads(t *testing.T) {
	c := readYAML(t, filepath.Join(root, "docker-compose.yml"))
	services := mapAt(t, c, "services")
	path := filepath.Join(root, "deploy", "compose", "changeproof.yaml")
	raw := readYAML(t, path)
	checkNoInlineSecrets(t, raw, "")

	chEnv := envMap(t, mapAt(t, services, "clickhouse")["environment"])
	for _, name := range []string{"receiver", "worker"} {
		t.Run(name, func(t *testing.T) {
			svc := mapAt(t, services, name)
			mounted := serviceSecrets(t, svc)
			env, used := secretOverrides(t, raw, "/run/secrets", func(secret string) (string, bool) {
				if !slices.Contains(mounted, secret) {
					return "", false
				}
				return fakeSecret(secret), true
			})
			for k, v := range envMap(t, svc["environment"]) {
				env = append(env, k+"="+v)
			}
			cfg, err := config.LoadWithEnv(path, env)
			if err != nil {
				t.Fatalf("%s does not load in services.%s: %v", path, name, err)
			}
			if !slices.Equal(cfg.Kafka.Brokers, []string{"kafka:9092"}) || cfg.ClickHouse.Addr != "clickhouse:9000" {
				t.Errorf("loaded kafka.brokers %v, clickhouse.addr %q; want kafka:9092 and clickhouse:9000", cfg.Kafka.Brokers, cfg.ClickHouse.Addr)
			}
			if cfg.GitHub.WebhookSecret != fakeSecret("github_webhook_secret") {
				t.Errorf("github.webhook_secret not read from its file (used %v)", used)
			}
			if cfg.ClickHouse.Password == "" {
				t.Error("clickhouse.password not read from its file")
			}
			if cfg.ClickHouse.User != chEnv["CLICKHOUSE_USER"] || cfg.ClickHouse.Database != chEnv["CLICKHOUSE_DB"] {
				t.Errorf("clickhouse.user/database = %q/%q, but the clickhouse service creates %q/%q",
					cfg.ClickHouse.User, cfg.ClickHouse.Database, chEnv["CLICKHOUSE_USER"], chEnv["CLICKHOUSE_DB"])
			}
			if !slices.Contains(used, "clickhouse_password") || !slices.Contains(serviceSecrets(t, mapAt(t, services, "clickhouse")), "clickhouse_password") {
				t.Error("the clickhouse service and changeproof do not share the clickhouse_password secret")
			}
			checkTokens(t, cfg)
			if len(cfg.Scope.Repos) == 0 {
				t.Error("scope.repos is empty: the compose setup would produce no findings")
			}
		})
	}
}

// checkTokens asserts one token of each role, each read from its file.
func checkTokens(t *testing.T, cfg config.Config) {
	t.Helper()
	roles := map[string]bool{}
	for _, tok := range cfg.Server.Tokens {
		roles[tok.Role] = true
		if tok.Token == "" || tok.TokenFile == "" {
			t.Errorf("server.tokens %s: token %q from file %q; want it read from a file", tok.Name, tok.Token, tok.TokenFile)
		}
	}
	for _, r := range []string{config.RoleIngest, config.RoleAuditor, config.RoleAdmin} {
		if !roles[r] {
			t.Errorf("server.tokens has no %s token", r)
		}
	}
}

// checkNoInlineSecrets fails for a secret key given a value: a deployment
// configuration names files, never secrets.
func checkNoInlineSecrets(t *testing.T, node any, path string) {
	t.Helper()
	secretKeys := map[string]bool{"webhook_secret": true, "token": true, "password": true, "webhook_url": true}
	switch n := node.(type) {
	case map[string]any:
		for k, v := range n {
			p := join(path, k)
			if secretKeys[k] && str(v) != "" {
				t.Errorf("%s is set inline; use %s_file", p, k)
			}
			checkNoInlineSecrets(t, v, p)
		}
	case []any:
		for i, v := range n {
			checkNoInlineSecrets(t, v, fmt.Sprintf("%s[%d]", path, i))
		}
	}
}

// secretOverrides makes a configuration whose *_file keys name files under
// mountDir (which exists only in the container) loadable here: it writes
// each secret, valued by value(name), to a temporary file and returns the
// CHANGEPROOF_* variables that point the keys at those files. Scalar keys
// get their own variable (CHANGEPROOF_GITHUB_WEBHOOK_SECRET_FILE); a list
// holding *_file keys (server.tokens) is given whole, as a YAML document.
// It fails the test for a file value(name) does not provide.
func secretOverrides(t *testing.T, raw map[string]any, mountDir string, value func(name string) (string, bool)) (env, used []string) {
	t.Helper()
	dir := t.TempDir()
	file := func(key, path string) string {
		name, ok := strings.CutPrefix(path, mountDir+"/")
		if !ok {
			t.Errorf("%s = %q, want a file under %s", key, path, mountDir)
			return path
		}
		v, ok := value(name)
		if !ok {
			t.Errorf("%s = %q, but the deployment mounts no secret %q there", key, path, name)
			return path
		}
		local := filepath.Join(dir, name)
		if err := os.WriteFile(local, []byte(v+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		used = append(used, name)
		return local
	}
	envName := func(key string) string {
		return config.EnvPrefix + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
	}
	var walk func(m map[string]any, path string)
	walk = func(m map[string]any, path string) {
		for k, v := range m {
			key := join(path, k)
			switch v := v.(type) {
			case map[string]any:
				walk(v, key)
			case string:
				if strings.HasSuffix(k, "_file") && v != "" {
					env = append(env, envName(key)+"="+file(key, v))
				}
			case []any:
				changed := false
				list := make([]any, len(v))
				for i, e := range v {
					list[i] = e
					rec, ok := e.(map[string]any)
					if !ok {
						continue
					}
					cp := map[string]any{}
					for rk, rv := range rec {
						if s, ok := rv.(string); ok && strings.HasSuffix(rk, "_file") && s != "" {
							rv = file(fmt.Sprintf("%s[%d].%s", key, i, rk), s)
							changed = true
						}
						cp[rk] = rv
					}
					list[i] = cp
				}
				if changed {
					doc, err := yaml.Marshal(list)
					if err != nil {
						t.Fatal(err)
					}
					env = append(env, envName(key)+"="+string(doc))
				}
			}
		}
	}
	walk(raw, "")
	return env, used
}

func fakeSecret(name string) string {
	if strings.HasSuffix(name, "url") {
		return "https://hooks.slack.test/services/" + name
	}
	return "test-" + name
}

func TestComposeSecretsExamples(t *testing.T) {
	dir := filepath.Join(root, "deploy", "compose", "secrets")
	examples, err := filepath.Glob(filepath.Join(dir, "*.example"))
	if err != nil || len(examples) == 0 {
		t.Fatalf("no *.example placeholders in %s (%v)", dir, err)
	}
	for _, f := range examples {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), "FAKE") {
			t.Errorf("%s = %q: a placeholder must be obviously fake (contain FAKE)", f, b)
		}
	}
	gi, err := os.ReadFile(filepath.Join(dir, ".gitignore"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(gi), "\n")
	for _, want := range []string{"*", "!*.example", "!README.md"} {
		if !slices.Contains(lines, want) {
			t.Errorf("%s/.gitignore lacks %q: real secrets could be committed", dir, want)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "deploy", "compose", "init-secrets.sh")); err != nil {
		t.Error(err)
	}
}

// ---------------------------------------------------------------------------
// Dockerfile

func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	df := string(b)
	// ARG defaults, to resolve the FROM lines.
	args := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^ARG (\w+)=(\S+)`).FindAllStringSubmatch(df, -1) {
		if _, seen := args[m[1]]; !seen {
			args[m[1]] = m[2]
		}
	}
	expand := func(s string) string {
		return regexp.MustCompile(`\$\{(\w+)\}`).ReplaceAllStringFunc(s, func(v string) string {
			return args[v[2:len(v)-1]]
		})
	}
	froms := regexp.MustCompile(`(?m)^FROM (\S+)(?: AS (\w+))?`).FindAllStringSubmatch(df, -1)
	if len(froms) < 2 {
		t.Fatalf("Dockerfile has %d stages, want a multi-stage build", len(froms))
	}
	if img := expand(froms[0][1]); !strings.HasPrefix(img, "golang:1.26") {
		t.Errorf("build stage FROM %s, want golang:1.26", img)
	}
	if img := expand(froms[len(froms)-1][1]); img != "debian:bookworm-slim" {
		t.Errorf("runtime stage FROM %s, want debian:bookworm-slim", img)
	}
	for _, want := range []string{
		"CGO_ENABLED=1",
		"-o /changeproof ./cmd/changeproof",
		"ARG WITH_EMBEDDED=false",
		`ENTRYPOINT ["changeproof"]`,
		"EXPOSE 8080",
		"ca-certificates",
		"curl",
		"/usr/local/lib/",
	} {
		if !strings.Contains(df, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	// The embedded engine is the version scripts/setup.sh installs.
	setup, err := os.ReadFile(filepath.Join(root, "scripts", "setup.sh"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^CHDB_VERSION=(\S+)`).FindSubmatch(setup)
	if m == nil {
		t.Fatal("scripts/setup.sh sets no CHDB_VERSION")
	}
	if args["CHDB_VERSION"] != string(m[1]) || !strings.Contains(df, `npm pack --silent "@chdb/lib-linux-x64-gnu@${CHDB_VERSION}"`) {
		t.Errorf("Dockerfile fetches chDB %q, scripts/setup.sh %q", args["CHDB_VERSION"], m[1])
	}
	// The last USER is not root.
	users := regexp.MustCompile(`(?m)^USER (\S+)`).FindAllStringSubmatch(df, -1)
	if len(users) == 0 {
		t.Fatal("Dockerfile has no USER: the image would run as root")
	}
	if u := users[len(users)-1][1]; u == "root" || strings.HasPrefix(u, "0") {
		t.Errorf("runtime USER %s is root", u)
	}

	ignore, err := os.ReadFile(filepath.Join(root, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	ig := strings.Split(string(ignore), "\n")
	for _, want := range []string{".git", "deploy/", "data/", "bin/"} {
		if !slices.Contains(ig, want) {
			t.Errorf(".dockerignore lacks %q", want)
		}
	}
	for _, copied := range regexp.MustCompile(`(?m)^COPY (?:--\S+ )*(\S+) `).FindAllStringSubmatch(df, -1) {
		if src := copied[1]; src != "." && slices.Contains(ig, src) {
			t.Errorf("Dockerfile copies %s, which .dockerignore excludes", src)
		}
	}
}

// ---------------------------------------------------------------------------
// Kubernetes

// manifest is one Kubernetes object and the file it came from.
type manifest struct {
	file string
	obj  map[string]any
}

func (m manifest) kind() string { return str(m.obj["kind"]) }
func (m manifest) name() string { return str(mapOr(m.obj["metadata"])["name"]) }

func kubernetesManifests(t *testing.T) []manifest {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(root, "deploy", "kubernetes", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in deploy/kubernetes (%v)", err)
	}
	var out []manifest
	for _, f := range files {
		for _, doc := range yamlDocs(t, f) {
			out = append(out, manifest{file: filepath.Base(f), obj: doc})
		}
	}
	return out
}

func TestKubernetesManifests(t *testing.T) {
	ms := kubernetesManifests(t)
	byKind := map[string]map[string]manifest{}
	files := map[string]bool{}
	for _, m := range ms {
		files[m.file] = true
		if str(m.obj["apiVersion"]) == "" || m.kind() == "" || m.name() == "" {
			t.Errorf("%s: an object without apiVersion, kind or metadata.name: %v", m.file, m.obj)
			continue
		}
		if byKind[m.kind()] == nil {
			byKind[m.kind()] = map[string]manifest{}
		}
		byKind[m.kind()][m.name()] = m
		switch m.kind() {
		case "Namespace", "Kustomization":
		default:
			if ns := str(mapOr(m.obj["metadata"])["namespace"]); ns != "changeproof" {
				t.Errorf("%s: %s %s in namespace %q, want changeproof", m.file, m.kind(), m.name(), ns)
			}
		}
	}
	if _, ok := byKind["Namespace"]["changeproof"]; !ok {
		t.Error("no Namespace changeproof")
	}

	// kustomization.yaml lists every other file.
	kust, ok := byKind["Kustomization"]["changeproof"]
	if !ok {
		t.Fatal("no kustomization.yaml")
	}
	listed := strList(t, kust.obj["resources"])
	for f := range files {
		if f != kust.file && !slices.Contains(listed, f) {
			t.Errorf("kustomization.yaml does not list %s", f)
		}
	}
	for _, f := range listed {
		if !files[f] {
			t.Errorf("kustomization.yaml lists %s, which does not exist", f)
		}
	}
	// Secrets come from its secretGenerator (files never in git).
	for name := range generatedSecrets(t, kust) {
		if byKind["Secret"] == nil {
			byKind["Secret"] = map[string]manifest{}
		}
		byKind["Secret"][name] = kust
	}

	wantReplicas := map[string]int{"receiver": 2, "pipeline": 2, "rules-api": 1}
	var roles []string
	var cpuMilli, memMi int
	deployments := byKind["Deployment"]
	if len(deployments) != len(wantReplicas) {
		t.Errorf("%d Deployments, want one per role group %v", len(deployments), wantReplicas)
	}
	for name, d := range deployments {
		where := d.file + ": Deployment " + name
		spec := mapAt(t, d.obj, "spec")
		tmpl := mapAt(t, spec, "template")
		labels := mapAt(t, mapAt(t, tmpl, "metadata"), "labels")
		component := str(labels["app.kubernetes.io/component"])
		if want, ok := wantReplicas[component]; !ok {
			t.Errorf("%s: component %q, want one of %v", where, component, wantReplicas)
		} else if got, _ := spec["replicas"].(int); got != want {
			t.Errorf("%s: replicas %v, want %d", where, spec["replicas"], want)
		}
		for k, v := range mapAt(t, mapAt(t, spec, "selector"), "matchLabels") {
			if labels[k] != v {
				t.Errorf("%s: selector %s=%v does not match the pod labels %v", where, k, v, labels)
			}
		}
		ann := mapAt(t, mapAt(t, tmpl, "metadata"), "annotations")
		if ann["prometheus.io/scrape"] != "true" || ann["prometheus.io/path"] != "/metrics" || ann["prometheus.io/port"] != "8080" {
			t.Errorf("%s: Prometheus annotations %v, want scrape true, port 8080, path /metrics", where, ann)
		}
		pod := mapAt(t, tmpl, "spec")
		psc := mapAt(t, pod, "securityContext")
		if psc["runAsNonRoot"] != true {
			t.Errorf("%s: pod securityContext.runAsNonRoot = %v", where, psc["runAsNonRoot"])
		}
		if uid, _ := psc["runAsUser"].(int); uid == 0 {
			t.Errorf("%s: pod runs as uid %v", where, psc["runAsUser"])
		}
		volumes := map[string]map[string]any{}
		for _, v := range listOf(t, pod["volumes"]) {
			volumes[str(v["name"])] = v
			if cm := mapOr(v["configMap"]); cm != nil {
				if _, ok := byKind["ConfigMap"][str(cm["name"])]; !ok {
					t.Errorf("%s: volume %s names ConfigMap %v, which is not defined", where, v["name"], cm["name"])
				}
			}
			if s := mapOr(v["secret"]); s != nil {
				if _, ok := byKind["Secret"][str(s["secretName"])]; !ok {
					t.Errorf("%s: volume %s names Secret %v, which is not defined", where, v["name"], s["secretName"])
				}
			}
		}
		containers := listOf(t, pod["containers"])
		if len(containers) != 1 {
			t.Fatalf("%s: %d containers, want 1", where, len(containers))
		}
		c := containers[0]
		args := strList(t, c["args"])
		if len(args) == 0 || args[0] != "serve" {
			t.Errorf("%s: args %v, want serve ...", where, args)
		}
		r := flagValue(args, "--roles")
		if r == "" {
			t.Errorf("%s: args %v have no --roles", where, args)
		}
		for _, role := range strings.Split(r, ",") {
			if !slices.Contains(allRoles, role) {
				t.Errorf("%s: unknown role %q", where, role)
			}
			roles = append(roles, role)
		}
		if got := probePath(t, c, "readinessProbe"); got != "/readyz" {
			t.Errorf("%s: readinessProbe path %q, want /readyz", where, got)
		}
		if got := probePath(t, c, "livenessProbe"); got != "/healthz" {
			t.Errorf("%s: livenessProbe path %q, want /healthz", where, got)
		}
		ports := listOf(t, c["ports"])
		if len(ports) != 1 || ports[0]["containerPort"] != 8080 || ports[0]["name"] != "http" {
			t.Errorf("%s: ports %v, want http 8080", where, ports)
		}
		csc := mapAt(t, c, "securityContext")
		if csc["readOnlyRootFilesystem"] != true || csc["allowPrivilegeEscalation"] != false {
			t.Errorf("%s: container securityContext %v, want readOnlyRootFilesystem true, allowPrivilegeEscalation false", where, csc)
		}
		if drop := strList(t, mapAt(t, csc, "capabilities")["drop"]); !slices.Contains(drop, "ALL") {
			t.Errorf("%s: capabilities.drop %v, want ALL", where, drop)
		}
		// The config is mounted where --config looks, from a volume that
		// exists; every mount has a volume.
		cfgDir := filepath.Dir(flagValue(args, "--config"))
		mountedCfg := false
		for _, vm := range listOf(t, c["volumeMounts"]) {
			v, ok := volumes[str(vm["name"])]
			if !ok {
				t.Errorf("%s: volumeMount %v has no volume", where, vm["name"])
				continue
			}
			if vm["mountPath"] == cfgDir && v["configMap"] != nil {
				mountedCfg = true
			}
		}
		if !mountedCfg {
			t.Errorf("%s: no ConfigMap mounted at %s, the --config directory", where, cfgDir)
		}
		req := mapAt(t, mapAt(t, c, "resources"), "requests")
		replicas, _ := spec["replicas"].(int)
		cpuMilli += replicas * quantityMilli(t, str(req["cpu"]))
		memMi += replicas * quantityMi(t, str(req["memory"]))
		if lim := mapOr(mapAt(t, c, "resources")["limits"]); lim == nil || lim["memory"] == nil {
			t.Errorf("%s: no memory limit", where)
		}
	}
	sort.Strings(roles)
	if want := slices.Sorted(slices.Values(allRoles)); !slices.Equal(roles, want) {
		t.Errorf("the Deployments run roles %v, want each of %v exactly once", roles, want)
	}
	// All replicas fit one 2-core node with room for the system's pods.
	if cpuMilli > 1500 || memMi > 3072 {
		t.Errorf("requests total %dm CPU, %dMi memory: more than a 2-core node leaves for applications (1500m, 3Gi)", cpuMilli, memMi)
	}

	// Services select a Deployment's pods on its named port.
	for _, name := range []string{"changeproof-receiver", "changeproof-api"} {
		svc, ok := byKind["Service"][name]
		if !ok {
			t.Errorf("no Service %s", name)
			continue
		}
		spec := mapAt(t, svc.obj, "spec")
		sel := mapAt(t, spec, "selector")
		matched := 0
		for _, d := range deployments {
			labels := mapAt(t, mapAt(t, mapAt(t, mapAt(t, d.obj, "spec"), "template"), "metadata"), "labels")
			all := true
			for k, v := range sel {
				all = all && labels[k] == v
			}
			if all {
				matched++
			}
		}
		if matched != 1 {
			t.Errorf("Service %s selects %d Deployments, want 1", name, matched)
		}
		ports := listOf(t, spec["ports"])
		if len(ports) != 1 || ports[0]["port"] != 8080 || ports[0]["targetPort"] != "http" {
			t.Errorf("Service %s ports %v, want 8080 to http", name, ports)
		}
	}
}

func TestKubernetesConfigLoads(t *testing.T) {
	ms := kubernetesManifests(t)
	var cfgText string
	secretData := map[string]string{}
	var deployEnv []string
	for _, m := range ms {
		switch {
		case m.kind() == "ConfigMap" && m.name() == "changeproof-config":
			cfgText = str(mapAt(t, m.obj, "data")["changeproof.yaml"])
		case m.kind() == "Secret":
			t.Errorf("%s: Secret %s in the manifests: secrets come from the secretGenerator's files", m.file, m.name())
		case m.kind() == "Kustomization":
			// The values init-secrets.sh generates, under the keys the
			// generator gives them.
			values := initSecrets(t, filepath.Join(root, "deploy", "kubernetes", "init-secrets.sh"))
			for k, file := range generatedSecrets(t, m)["changeproof-secrets"] {
				v, ok := values[filepath.Base(file)]
				if !ok {
					t.Errorf("init-secrets.sh does not create %s (secretGenerator key %s)", file, k)
				}
				secretData[k] = v
			}
		case m.kind() == "Deployment":
			pod := mapAt(t, mapAt(t, mapAt(t, m.obj, "spec"), "template"), "spec")
			for _, c := range listOf(t, pod["containers"]) {
				for _, e := range listOf(t, c["env"]) {
					if n := str(e["name"]); strings.HasPrefix(n, config.EnvPrefix) && e["value"] != nil {
						deployEnv = append(deployEnv, n+"="+str(e["value"]))
					}
				}
				mounted := false
				for _, vm := range listOf(t, c["volumeMounts"]) {
					mounted = mounted || vm["mountPath"] == "/run/secrets/changeproof"
				}
				if !mounted {
					t.Errorf("Deployment %s does not mount the secrets at /run/secrets/changeproof", m.name())
				}
			}
		}
	}
	if cfgText == "" {
		t.Fatal("ConfigMap changeproof-config has no changeproof.yaml")
	}
	path := filepath.Join(t.TempDir(), "changeproof.yaml")
	if err := os.WriteFile(path, []byte(cfgText), 0o600); err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := yaml.Unmarshal([]byte(cfgText), &raw); err != nil {
		t.Fatal(err)
	}
	checkNoInlineSecrets(t, raw, "")
	env, _ := secretOverrides(t, raw, "/run/secrets/changeproof", func(name string) (string, bool) {
		v, ok := secretData[name]
		return v, ok
	})
	cfg, err := config.LoadWithEnv(path, append(env, deployEnv...))
	if err != nil {
		t.Fatalf("the ConfigMap's changeproof.yaml does not load: %v", err)
	}
	if len(cfg.Kafka.Brokers) == 0 || cfg.ClickHouse.Addr == "" {
		t.Errorf("kafka.brokers %v, clickhouse.addr %q: the Deployments run the distributed mode", cfg.Kafka.Brokers, cfg.ClickHouse.Addr)
	}
	if cfg.GitHub.WebhookSecret != secretData["github-webhook-secret"] {
		t.Error("github.webhook_secret is not the Secret's github-webhook-secret")
	}
	checkTokens(t, cfg)
}

func probePath(t *testing.T, c map[string]any, probe string) string {
	t.Helper()
	p := mapOr(c[probe])
	if p == nil {
		return ""
	}
	get := mapOr(p["httpGet"])
	if get == nil {
		return ""
	}
	if get["port"] != "http" && get["port"] != 8080 {
		t.Errorf("%s port %v, want http", probe, get["port"])
	}
	return str(get["path"])
}

// quantityMilli parses a CPU quantity ("250m", "1") into millicores.
func quantityMilli(t *testing.T, q string) int {
	t.Helper()
	if n, ok := strings.CutSuffix(q, "m"); ok {
		v, err := strconv.Atoi(n)
		if err != nil {
			t.Errorf("CPU quantity %q", q)
		}
		return v
	}
	v, err := strconv.ParseFloat(q, 64)
	if err != nil {
		t.Errorf("CPU quantity %q", q)
	}
	return int(v * 1000)
}

// quantityMi parses a memory quantity ("256Mi", "1Gi") into MiB.
func quantityMi(t *testing.T, q string) int {
	t.Helper()
	for suffix, mul := range map[string]int{"Mi": 1, "Gi": 1024} {
		if n, ok := strings.CutSuffix(q, suffix); ok {
			v, err := strconv.Atoi(n)
			if err != nil {
				t.Errorf("memory quantity %q", q)
			}
			return v * mul
		}
	}
	t.Errorf("memory quantity %q: want Mi or Gi", q)
	return 0
}

// ---------------------------------------------------------------------------
// ClickHouse cluster example

type chConfig struct {
	Clusters struct {
		Changeproof *struct {
			Secret struct {
				FromEnv string `xml:"from_env,attr"`
			} `xml:"secret"`
			Shards []struct {
				InternalReplication bool `xml:"internal_replication"`
				Replicas            []struct {
					Host string `xml:"host"`
					Port int    `xml:"port"`
				} `xml:"replica"`
			} `xml:"shard"`
		} `xml:"changeproof"`
	} `xml:"remote_servers"`
	Zookeeper []struct {
		Host string `xml:"host"`
		Port int    `xml:"port"`
	} `xml:"zookeeper>node"`
	Macros struct {
		Cluster string `xml:"cluster"`
		Shard   string `xml:"shard"`
		Replica string `xml:"replica"`
	} `xml:"macros"`
	Keeper struct {
		TCPPort  int `xml:"tcp_port"`
		ServerID struct {
			FromEnv string `xml:"from_env,attr"`
		} `xml:"server_id"`
		Servers []struct {
			ID       int    `xml:"id"`
			Hostname string `xml:"hostname"`
		} `xml:"raft_configuration>server"`
	} `xml:"keeper_server"`
}

func readXML(t *testing.T, path string) chConfig {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Well-formed, all the way through.
	dec := xml.NewDecoder(bytes.NewReader(b))
	for {
		if _, err := dec.Token(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
	var c chConfig
	if err := xml.Unmarshal(b, &c); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return c
}

func TestClickHouseCluster(t *testing.T) {
	dir := filepath.Join(root, "deploy", "clickhouse-cluster")
	cluster := readXML(t, filepath.Join(dir, "config.d", "cluster.xml"))
	cp := cluster.Clusters.Changeproof
	if cp == nil {
		t.Fatal("config.d/cluster.xml defines no remote_servers cluster named changeproof")
	}
	if len(cp.Shards) != 2 {
		t.Errorf("cluster changeproof has %d shards, want 2", len(cp.Shards))
	}
	if cp.Secret.FromEnv == "" {
		t.Error("cluster changeproof has no inter-server secret")
	}
	var hosts []string
	for i, s := range cp.Shards {
		if !s.InternalReplication {
			t.Errorf("shard %d: internal_replication is off; replicated tables would be written twice", i+1)
		}
		if len(s.Replicas) != 2 {
			t.Errorf("shard %d has %d replicas, want 2", i+1, len(s.Replicas))
		}
		for _, r := range s.Replicas {
			hosts = append(hosts, r.Host)
			m := readXML(t, filepath.Join(dir, "macros", r.Host+".xml")).Macros
			if m.Shard != strconv.Itoa(i+1) || m.Replica != r.Host || m.Cluster != "changeproof" {
				t.Errorf("macros/%s.xml: shard %q replica %q cluster %q, want %d, %s, changeproof", r.Host, m.Shard, m.Replica, m.Cluster, i+1, r.Host)
			}
		}
	}
	macroFiles, _ := filepath.Glob(filepath.Join(dir, "macros", "*.xml"))
	if len(macroFiles) != len(hosts) {
		t.Errorf("%d macros files for %d servers", len(macroFiles), len(hosts))
	}

	keeper := readXML(t, filepath.Join(dir, "keeper", "keeper_config.xml")).Keeper
	if len(keeper.Servers) != 3 {
		t.Errorf("Keeper has %d servers, want 3 (a majority survives one loss)", len(keeper.Servers))
	}
	if keeper.ServerID.FromEnv == "" {
		t.Error("keeper_config.xml: server_id is not taken from the environment")
	}
	var keepers []string
	for i, s := range keeper.Servers {
		if s.ID != i+1 {
			t.Errorf("Keeper server %d has id %d", i+1, s.ID)
		}
		keepers = append(keepers, s.Hostname)
	}
	var zk []string
	for _, n := range cluster.Zookeeper {
		zk = append(zk, n.Host)
		if n.Port != keeper.TCPPort {
			t.Errorf("server config reaches Keeper %s on port %d, Keeper listens on %d", n.Host, n.Port, keeper.TCPPort)
		}
	}
	if !slices.Equal(zk, keepers) {
		t.Errorf("servers use Keeper nodes %v, the ensemble is %v", zk, keepers)
	}

	// The example compose file runs exactly these nodes, each with its own
	// macros and the shared cluster config.
	c := readYAML(t, filepath.Join(dir, "docker-compose.yml"))
	services := mapAt(t, c, "services")
	for _, h := range hosts {
		svc := mapAt(t, services, h)
		vols := strList(t, svc["volumes"])
		for _, want := range []string{
			"./config.d/cluster.xml:/etc/clickhouse-server/config.d/cluster.xml:ro",
			"./macros/" + h + ".xml:/etc/clickhouse-server/config.d/macros.xml:ro",
		} {
			if !slices.Contains(vols, want) {
				t.Errorf("services.%s does not mount %s", h, want)
			}
		}
		if svc["hostname"] != h {
			t.Errorf("services.%s.hostname = %v: replicas reach each other by the name in remote_servers", h, svc["hostname"])
		}
		if envMap(t, svc["environment"])["CLICKHOUSE_CLUSTER_SECRET"] == "" {
			t.Errorf("services.%s does not set CLICKHOUSE_CLUSTER_SECRET", h)
		}
	}
	for i, k := range keepers {
		svc := mapAt(t, services, k)
		if id := envMap(t, svc["environment"])[keeper.ServerID.FromEnv]; id != strconv.Itoa(i+1) {
			t.Errorf("services.%s: %s = %q, want %d", k, keeper.ServerID.FromEnv, id, i+1)
		}
	}
	if len(services) != len(hosts)+len(keepers) {
		t.Errorf("cluster compose has %d services, want %d servers + %d Keeper nodes", len(services), len(hosts), len(keepers))
	}

	// The changeproof side: clickhouse.cluster names the cluster.
	path := filepath.Join(dir, "changeproof.yaml")
	raw := readYAML(t, path)
	checkNoInlineSecrets(t, raw, "")
	env, _ := secretOverrides(t, raw, "/run/secrets", func(name string) (string, bool) { return fakeSecret(name), true })
	cfg, err := config.LoadWithEnv(path, env)
	if err != nil {
		t.Fatalf("%s does not load: %v", path, err)
	}
	if cfg.ClickHouse.Cluster != "changeproof" {
		t.Errorf("clickhouse.cluster = %q, want changeproof", cfg.ClickHouse.Cluster)
	}
	if host, _, _ := strings.Cut(cfg.ClickHouse.Addr, ":"); !slices.Contains(hosts, host) {
		t.Errorf("clickhouse.addr = %q, want a server of the cluster %v", cfg.ClickHouse.Addr, hosts)
	}
}

// ---------------------------------------------------------------------------
// deploy/README.md

// TestReadmeNamesEveryAsset keeps the README's list of files in step.
func TestReadmeNamesEveryAsset(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	var assets []string
	for _, pattern := range []string{"*", "kubernetes/*", "compose/*", "clickhouse-cluster/*"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		assets = append(assets, m...)
	}
	for _, a := range assets {
		base := filepath.Base(a)
		if base == "README.md" || strings.HasPrefix(base, ".") || strings.HasSuffix(base, "_test.go") {
			continue
		}
		if !strings.Contains(readme, base) {
			t.Errorf("deploy/README.md does not mention %s", a)
		}
	}
	for _, top := range []string{"docker-compose.yml", "Dockerfile", ".dockerignore"} {
		if !strings.Contains(readme, top) {
			t.Errorf("deploy/README.md does not mention %s", top)
		}
	}
}

// ---------------------------------------------------------------------------
// YAML helpers

func readYAML(t *testing.T, path string) map[string]any {
	t.Helper()
	docs := yamlDocs(t, path)
	if len(docs) != 1 {
		t.Fatalf("%s: %d YAML documents, want 1", path, len(docs))
	}
	return docs[0]
}

// yamlDocs parses every non-empty document of a (multi-document) YAML file.
func yamlDocs(t *testing.T, path string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var out []map[string]any
	for {
		var doc map[string]any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if doc != nil {
			out = append(out, doc)
		}
	}
	return out
}

// mapAt returns m[key] as a mapping.
func mapAt(t *testing.T, m map[string]any, key string) map[string]any {
	t.Helper()
	v, ok := m[key].(map[string]any)
	if !ok {
		t.Fatalf("%q is %T (%v), want a mapping", key, m[key], m[key])
	}
	return v
}

func mapOr(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func listOf(t *testing.T, v any) []map[string]any {
	t.Helper()
	if v == nil {
		return nil
	}
	l, ok := v.([]any)
	if !ok {
		t.Fatalf("%v is %T, want a list", v, v)
	}
	out := make([]map[string]any, 0, len(l))
	for _, e := range l {
		m, ok := e.(map[string]any)
		if !ok {
			t.Fatalf("list element %v is %T, want a mapping", e, e)
		}
		out = append(out, m)
	}
	return out
}

// strList reads a list of scalars, or one string (a shell-form command).
func strList(t *testing.T, v any) []string {
	t.Helper()
	switch v := v.(type) {
	case nil:
		return nil
	case string:
		return strings.Fields(v)
	case []any:
		out := make([]string, len(v))
		for i, e := range v {
			out[i] = str(e)
		}
		return out
	}
	t.Fatalf("%v is %T, want a list", v, v)
	return nil
}

func str(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	default:
		return fmt.Sprint(v)
	}
}

// envMap reads a compose environment, mapping or NAME=value list.
func envMap(t *testing.T, v any) map[string]string {
	t.Helper()
	out := map[string]string{}
	switch v := v.(type) {
	case nil:
	case map[string]any:
		for k, e := range v {
			out[k] = str(e)
		}
	case []any:
		for _, e := range v {
			k, val, _ := strings.Cut(str(e), "=")
			out[k] = val
		}
	default:
		t.Fatalf("environment is %T, want a mapping or list", v)
	}
	return out
}

// flagValue is the argument after name in args ("" if none).
func flagValue(args []string, name string) string {
	for i, a := range args {
		if a == name && i+1 < len(args) {
			return args[i+1]
		}
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v
		}
	}
	return ""
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
