package buildinfo

import (
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func settings(kv ...string) []debug.BuildSetting {
	var s []debug.BuildSetting
	for i := 0; i < len(kv); i += 2 {
		s = append(s, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
	}
	return s
}

func TestFrom(t *testing.T) {
	const rev = "efe30dab1234567890abcdef1234567890abcdef"
	for _, c := range []struct {
		name     string
		bi       *debug.BuildInfo
		override string
		want     Info
	}{
		{"release", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.4.0"}, Settings: settings("vcs.revision", rev, "vcs.modified", "false")},
			"", Info{Version: "v1.4.0", Revision: rev, GoVersion: "go1.26.8"}},
		{"pseudo-version of a dirty tree", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.0.0-20261207021337-efe30dab1234+dirty"}, Settings: settings("vcs.revision", rev, "vcs.modified", "true")},
			"", Info{Version: "v0.0.0-20261207021337-efe30dab1234+dirty", Revision: rev, Modified: true, GoVersion: "go1.26.8"}},
		{"revision only", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: settings("vcs.revision", rev, "vcs.modified", "true")},
			"", Info{Version: "devel-efe30dab1234-dirty", Revision: rev, Modified: true, GoVersion: "go1.26.8"}},
		{"nothing known", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}},
			"", Info{Version: "devel", GoVersion: "go1.26.8"}},
		{"ldflags override", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}},
			"v2.0.0", Info{Version: "v2.0.0", GoVersion: "go1.26.8"}},
	} {
		if got := from(c.bi, true, c.override); got != c.want {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}
	if got := from(nil, false, ""); got.Version != "devel" || got.GoVersion == "" {
		t.Errorf("no build info: %+v", got)
	}
}

func TestString(t *testing.T) {
	i := Info{Version: "devel-efe30dab1234", Revision: "efe30dab1234567890", Modified: true, GoVersion: "go1.26.8"}
	if s := i.String(); s != "changeproof devel-efe30dab1234 go1.26.8" {
		t.Errorf("%q", s)
	}
	i.Version = "v1.4.0"
	if s := i.String(); s != "changeproof v1.4.0 (revision efe30dab1234567890, modified) go1.26.8" {
		t.Errorf("%q", s)
	}
}

// The metric carries the running build's labels.
func TestBuildInfoMetric(t *testing.T) {
	mfs, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "changeproof_build_info" {
			continue
		}
		m := mf.GetMetric()[0]
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if m.GetGauge().GetValue() != 1 || labels["version"] != Get().Version || !strings.HasPrefix(labels["goversion"], "go") {
			t.Errorf("%v %v", m.GetGauge().GetValue(), labels)
		}
		if _, ok := labels["revision"]; !ok {
			t.Errorf("no revision label: %v", labels)
		}
		return
	}
	t.Error("changeproof_build_info not registered")
}

// `make build` produces a binary that knows its commit, so `version`,
// export manifests and changeproof_build_info name it instead of "devel".
func TestMakeBuildStampsVersion(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	rev, err := exec.Command("git", "rev-parse", "--short=7", "HEAD").Output()
	if err != nil {
		t.Skipf("not a git checkout (or no git): %v", err)
	}
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("no make")
	}
	bin := filepath.Join(t.TempDir(), "changeproof")
	cmd := exec.Command("make", "-s", "-C", "../..", "build", "BIN="+bin)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	if s := string(out); !strings.Contains(s, strings.TrimSpace(string(rev))) || strings.Contains(s, "devel") {
		t.Errorf("version %q does not name commit %s", s, rev)
	}
}
