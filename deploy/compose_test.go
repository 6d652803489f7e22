package deploy_test

import (
	"fmt"
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
