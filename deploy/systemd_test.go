package deploy_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The systemd unit is hardened: systemd-analyze's exposure score is at most
// 3.0 (of 10), and the one directory it may write is where serve keeps its
// data.
func TestSystemdUnitHardened(t *testing.T) {
	path := filepath.Join(root, "deploy", "changeproof.service")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	unit := map[string][]string{}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok && !strings.HasPrefix(l, "#") {
			unit[k] = append(unit[k], v)
		}
	}
	if got := unit["StateDirectory"]; len(got) != 1 || got[0] != "changeproof" {
		t.Errorf("StateDirectory %v", got)
	}
	if exec := strings.Join(unit["ExecStart"], " "); !strings.Contains(exec, "--data-dir /var/lib/changeproof/") {
		t.Errorf("ExecStart %q: the data dir must be under the state directory, the only writable path", exec)
	}
	if unit["ProtectSystem"][0] != "strict" || unit["User"][0] == "" || unit["User"][0] == "root" {
		t.Errorf("ProtectSystem %v User %v", unit["ProtectSystem"], unit["User"])
	}

	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed (Debian: apt-get install systemd): exposure not measured")
	}
	out, err := exec.Command(analyze, "security", "--offline=yes", path).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no exposure level in:\n%s", out)
	}
	score, _ := strconv.ParseFloat(string(m[1]), 64)
	t.Logf("systemd-analyze security exposure: %.1f", score)
	if score > 3.0 {
		t.Errorf("exposure %.1f, want at most 3.0:\n%s", score, out)
	}
}

// systemd parses every directive of the unit (a misspelt hardening option
// would be ignored with a warning, silently weakening the sandbox).
func TestSystemdUnitVerifies(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed (Debian: apt-get install systemd)")
	}
	b, err := os.ReadFile(filepath.Join(root, "deploy", "changeproof.service"))
	if err != nil {
		t.Fatal(err)
	}
	// The binary is not installed here; any executable stands in for it.
	unit := strings.ReplaceAll(string(b), "/usr/local/bin/changeproof", "/bin/true")
	path := filepath.Join(t.TempDir(), "changeproof.service")
	if err := os.WriteFile(path, []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", path).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
