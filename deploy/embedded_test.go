package deploy_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/changeproof/changeproof/config"
)

// docker-compose.embedded.yml: one service with the engine in its image,
// its data on a named volume, healthy only when ready, and a configuration
// that loads as the embedded mode.
func TestComposeEmbedded(t *testing.T) {
	c := readYAML(t, filepath.Join(root, "docker-compose.embedded.yml"))
	services := mapAt(t, c, "services")
	if len(services) != 1 {
		t.Errorf("%d services, want one", len(services))
	}
	svc := mapAt(t, services, "changeproof")
	if got := str(mapAt(t, mapAt(t, svc, "build"), "args")["WITH_EMBEDDED"]); got != "true" {
		t.Errorf("build.args.WITH_EMBEDDED = %q, want true (the image needs libchdb.so)", got)
	}
	cmd := strList(t, svc["command"])
	if len(cmd) == 0 || cmd[0] != "serve" || flagValue(cmd, "--roles") != "" {
		t.Errorf("command %v, want serve with every role", cmd)
	}
	dataDir := flagValue(cmd, "--data-dir")
	checkNamedVolume(t, "changeproof", svc, mapAt(t, c, "volumes"), filepath.Dir(dataDir))
	if hc := strings.Join(strList(t, mapAt(t, svc, "healthcheck")["test"]), " "); !strings.Contains(hc, "/readyz") {
		t.Errorf("healthcheck %q does not probe /readyz", hc)
	}
	if svc["read_only"] != true {
		t.Error("read_only is not true")
	}
	cfgPath := flagValue(cmd, "--config")
	if mount := "./deploy/compose/embedded.yaml:" + cfgPath + ":ro"; !slices.Contains(strList(t, svc["volumes"]), mount) {
		t.Errorf("volumes %v lack %s", svc["volumes"], mount)
	}
	topSecrets := mapAt(t, c, "secrets")
	mounted := serviceSecrets(t, svc)
	for _, s := range mounted {
		file := str(mapAt(t, topSecrets, s)["file"])
		if file != "./deploy/compose/secrets/"+s {
			t.Errorf("secrets.%s.file = %q", s, file)
		}
		if _, err := os.Stat(filepath.Join(root, file+".example")); err != nil {
			t.Errorf("secret %s has no .example: %v", s, err)
		}
	}

	path := filepath.Join(root, "deploy", "compose", "embedded.yaml")
	raw := readYAML(t, path)
	checkNoInlineSecrets(t, raw, "")
	env, _ := secretOverrides(t, raw, "/run/secrets", func(secret string) (string, bool) {
		return fakeSecret(secret), slices.Contains(mounted, secret)
	})
	cfg, err := config.LoadWithEnv(path, env)
	if err != nil {
		t.Fatalf("%s does not load: %v", path, err)
	}
	checkEmbedded(t, cfg)
	checkTokens(t, cfg)
}

// checkEmbedded asserts a configuration runs the embedded mode.
func checkEmbedded(t *testing.T, cfg config.Config) {
	t.Helper()
	if len(cfg.Kafka.Brokers) != 0 || cfg.ClickHouse.Addr != "" {
		t.Errorf("kafka.brokers %v, clickhouse.addr %q: want neither (embedded)", cfg.Kafka.Brokers, cfg.ClickHouse.Addr)
	}
	if cfg.GitHub.WebhookSecret == "" || len(cfg.Scope.Repos) == 0 {
		t.Errorf("webhook secret set %v, scope %v", cfg.GitHub.WebhookSecret != "", cfg.Scope.Repos)
	}
}

// deploy/kubernetes/embedded: one StatefulSet pod whose data directory is
// on a PersistentVolumeClaim, secrets from files never in git, and a
// configuration that loads as the embedded mode with what init-secrets.sh
// generates.
func TestKubernetesEmbedded(t *testing.T) {
	dir := filepath.Join(root, "deploy", "kubernetes", "embedded")
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	byKind := map[string]manifest{}
	for _, f := range files {
		for _, doc := range yamlDocs(t, f) {
			m := manifest{file: filepath.Base(f), obj: doc}
			if _, dup := byKind[m.kind()]; dup {
				t.Errorf("two %s objects", m.kind())
			}
			byKind[m.kind()] = m
		}
	}
	kust := byKind["Kustomization"]
	listed := strList(t, kust.obj["resources"])
	for _, f := range files {
		if b := filepath.Base(f); b != "kustomization.yaml" && !slices.Contains(listed, b) {
			t.Errorf("kustomization.yaml does not list %s", b)
		}
	}
	if _, ok := byKind["Secret"]; ok {
		t.Error("a Secret in the manifests: secrets come from the secretGenerator's files")
	}
	gen := generatedSecrets(t, kust)

	sts, ok := byKind["StatefulSet"]
	if !ok {
		t.Fatal("no StatefulSet")
	}
	if _, ok := byKind["Deployment"]; ok {
		t.Error("a Deployment: the embedded mode is one StatefulSet pod")
	}
	spec := mapAt(t, sts.obj, "spec")
	if r, _ := spec["replicas"].(int); r != 1 {
		t.Errorf("replicas %v, want 1 (one process owns the data directory)", spec["replicas"])
	}
	claims := map[string]map[string]any{}
	for _, c := range listOf(t, spec["volumeClaimTemplates"]) {
		cs := mapAt(t, c, "spec")
		claims[str(mapAt(t, c, "metadata")["name"])] = cs
		if modes := strList(t, cs["accessModes"]); !slices.Equal(modes, []string{"ReadWriteOnce"}) {
			t.Errorf("claim access modes %v", modes)
		}
		if str(mapAt(t, mapAt(t, cs, "resources"), "requests")["storage"]) == "" {
			t.Error("claim without a storage request")
		}
	}
	pod := mapAt(t, mapAt(t, spec, "template"), "spec")
	psc := mapAt(t, pod, "securityContext")
	if psc["runAsNonRoot"] != true || psc["fsGroup"] != 10001 {
		t.Errorf("pod securityContext %v: want runAsNonRoot and fsGroup 10001 (the volume writable by uid 10001)", psc)
	}
	volumes := map[string]map[string]any{}
	for _, v := range listOf(t, pod["volumes"]) {
		volumes[str(v["name"])] = v
		if s := mapOr(v["secret"]); s != nil {
			if _, ok := gen[str(s["secretName"])]; !ok {
				t.Errorf("volume %s names Secret %v, which the kustomization does not generate", v["name"], s["secretName"])
			}
		}
		if cm := mapOr(v["configMap"]); cm != nil && str(cm["name"]) != byKind["ConfigMap"].name() {
			t.Errorf("volume %s names ConfigMap %v", v["name"], cm["name"])
		}
	}
	containers := listOf(t, pod["containers"])
	if len(containers) != 1 {
		t.Fatalf("%d containers", len(containers))
	}
	c := containers[0]
	args := strList(t, c["args"])
	if len(args) == 0 || args[0] != "serve" || flagValue(args, "--roles") != "" {
		t.Errorf("args %v, want serve with every role", args)
	}
	dataParent := filepath.Dir(flagValue(args, "--data-dir"))
	onClaim := false
	for _, vm := range listOf(t, c["volumeMounts"]) {
		name := str(vm["name"])
		if _, isVolume := volumes[name]; !isVolume && claims[name] == nil {
			t.Errorf("volumeMount %s has no volume or claim", name)
		}
		if vm["mountPath"] == dataParent && claims[name] != nil {
			onClaim = true
		}
	}
	if !onClaim {
		t.Errorf("--data-dir %s is not on a volume claim", flagValue(args, "--data-dir"))
	}
	if got := probePath(t, c, "readinessProbe"); got != "/readyz" {
		t.Errorf("readinessProbe %q, want /readyz", got)
	}
	if got := probePath(t, c, "livenessProbe"); got != "/healthz" {
		t.Errorf("livenessProbe %q, want /healthz", got)
	}
	csc := mapAt(t, c, "securityContext")
	if csc["readOnlyRootFilesystem"] != true || csc["allowPrivilegeEscalation"] != false {
		t.Errorf("container securityContext %v", csc)
	}
	svc := byKind["Service"]
	sel := mapAt(t, mapAt(t, svc.obj, "spec"), "selector")
	labels := mapAt(t, mapAt(t, mapAt(t, spec, "template"), "metadata"), "labels")
	for k, v := range sel {
		if labels[k] != v {
			t.Errorf("Service selector %s=%v does not match the pod", k, v)
		}
	}

	// The configuration loads with the secrets init-secrets.sh makes.
	values := initSecrets(t, filepath.Join(root, "deploy", "kubernetes", "init-secrets.sh"))
	cfgText := str(mapAt(t, byKind["ConfigMap"].obj, "data")["changeproof.yaml"])
	path := filepath.Join(t.TempDir(), "changeproof.yaml")
	if err := os.WriteFile(path, []byte(cfgText), 0o600); err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := yaml.Unmarshal([]byte(cfgText), &raw); err != nil {
		t.Fatal(err)
	}
	checkNoInlineSecrets(t, raw, "")
	secretName := str(mapOr(volumes["secrets"]["secret"])["secretName"])
	env, _ := secretOverrides(t, raw, "/run/secrets/changeproof", func(key string) (string, bool) {
		file, ok := gen[secretName][key]
		if !ok {
			return "", false
		}
		v, ok := values[filepath.Base(file)]
		return v, ok
	})
	cfg, err := config.LoadWithEnv(path, env)
	if err != nil {
		t.Fatalf("the embedded ConfigMap does not load: %v", err)
	}
	checkEmbedded(t, cfg)
	checkTokens(t, cfg)
}
