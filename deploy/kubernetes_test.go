package deploy_test

import (
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/changeproof/changeproof/config"
)

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
