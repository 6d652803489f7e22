package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// Every start-up error exits non-zero with one line saying what is wrong,
// never a panic: a second serve on a held data dir, a bad configuration, a
// missing engine, an unreadable TLS key pair.
func TestStartupErrorsAreOneLine(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers")
	}
	_, cfgPath := testConfig(t, "changeproof")
	dir := filepath.Join(t.TempDir(), "data")
	srv := startChild(t, "serve", "--config", cfgPath, "--data-dir", dir, "--addr", "127.0.0.1:0")
	defer func() { _ = srv.cmd.Process.Signal(syscall.SIGTERM); _ = srv.cmd.Wait() }()

	badCfg := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(badCfg, []byte("server:\n  read_timeout: 3d\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	tlsCfg := filepath.Join(t.TempDir(), "tls.yaml")
	tlsText := strings.Replace(string(base), "server:\n", "server:\n  tls_cert_file: /nonexistent/cert.pem\n  tls_key_file: /nonexistent/key.pem\n", 1)
	if err := os.WriteFile(tlsCfg, []byte(tlsText), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"second serve on the data dir", nil, []string{"serve", "--config", cfgPath, "--data-dir", dir, "--addr", "127.0.0.1:0"},
			"is in use by another process"},
		{"bad config", nil, []string{"serve", "--config", badCfg, "--data-dir", filepath.Join(t.TempDir(), "data"), "--addr", "127.0.0.1:0"},
			`server.read_timeout: must be a duration such as 72h, 90m or 30s, got "3d"`},
		{"missing config", nil, []string{"serve", "--config", "/nonexistent/changeproof.yaml", "--data-dir", filepath.Join(t.TempDir(), "data")},
			"/nonexistent/changeproof.yaml"},
		{"missing engine", []string{"CHANGEPROOF_CHDB_LIB=/nonexistent/libchdb.so"},
			[]string{"serve", "--config", cfgPath, "--data-dir", filepath.Join(t.TempDir(), "data"), "--addr", "127.0.0.1:0"}, "/nonexistent/libchdb.so"},
		{"address in use", nil, []string{"serve", "--config", cfgPath, "--data-dir", filepath.Join(t.TempDir(), "data"), "--addr", srv.addr},
			"listen on " + srv.addr + ": "},
		{"unreadable TLS key pair", nil, []string{"serve", "--config", tlsCfg, "--data-dir", filepath.Join(t.TempDir(), "data"), "--addr", "127.0.0.1:0"},
			"server.tls_cert_file, server.tls_key_file: open /nonexistent/cert.pem"},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, err := runChildEnv(c.env, c.args...)
			line := strings.TrimSpace(out)
			if err == nil || strings.Contains(out, "panic") || strings.Contains(line, "\n") ||
				!strings.HasPrefix(line, "changeproof serve: ") || !strings.Contains(line, c.want) {
				t.Errorf("exit %v, output:\n%s\nwant one line `changeproof serve: ...%s...`", err, out, c.want)
			}
		})
	}
}

// runChildEnv is runChildErr with extra environment variables.
func runChildEnv(env []string, args ...string) (string, error) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), env...), "CHANGEPROOF_E2E_ARGS="+strings.Join(args, "\x1f"))
	out, err := cmd.CombinedOutput()
	return string(out), err
}
