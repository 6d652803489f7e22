package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// runCLI runs `changeproof <args>` as a child process and returns its
// stdout, stderr and exit code.
func runCLI(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "CHANGEPROOF_E2E_ARGS="+strings.Join(args, "\x1f"))
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("changeproof %v: %v", args, err)
	}
	return out.String(), errOut.String(), code
}

// commandPaths lists every visible command of the tree but the root, as
// argument lists ("alerts", "retry").
func commandPaths() [][]string {
	var out [][]string
	walk(newRoot(), func(c *cobra.Command) {
		if c.HasParent() {
			out = append(out, strings.Fields(c.CommandPath())[1:])
		}
	})
	return out
}

// TestHelpOnStdoutExitZero asks every command for its help the three ways:
// COMMAND --help, COMMAND -h, help COMMAND. Each prints the command's
// usage and examples on stdout, nothing on stderr, and exits 0.
func TestHelpOnStdoutExitZero(t *testing.T) {
	paths := commandPaths()
	if len(paths) < 30 {
		t.Fatalf("only %d commands in the tree: %v", len(paths), paths)
	}
	for _, p := range paths {
		name := strings.Join(p, " ")
		for _, args := range [][]string{append(append([]string{}, p...), "--help"), append(append([]string{}, p...), "-h"), append([]string{"help"}, p...)} {
			out, errOut, code := runCLI(t, args...)
			if code != 0 || errOut != "" {
				t.Errorf("changeproof %v: exit %d, stderr %q", args, code, errOut)
				continue
			}
			if !strings.Contains(out, "Usage:\n  changeproof "+name) || !regexp.MustCompile(`Examples:\n  .*changeproof `).MatchString(out) {
				t.Errorf("changeproof %v: no usage or example on stdout:\n%s", args, out)
			}
		}
	}
	// The root's help names every group of commands.
	out, _, code := runCLI(t, "--help")
	for _, want := range []string{"Running changeproof:", "Evidence for auditors:", "Operations and maintenance:", "verify", "completion"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("changeproof --help (exit %d) lacks %q:\n%s", code, want, out)
		}
	}
}

// TestUsageErrorsExitTwo: a wrong command line exits 2 with one line
// naming the problem and the hint to --help on stderr, and nothing on
// stdout; a command that runs and fails exits 1.
func TestUsageErrorsExitTwo(t *testing.T) {
	for _, c := range []struct {
		args     []string
		want     string
		hintedBy string
	}{
		{[]string{"verfy"}, `unknown command "verfy" for "changeproof" (did you mean verify?)`, "changeproof"},
		{[]string{"stats", "--bogus"}, "unknown flag: --bogus", "changeproof stats"},
		{[]string{"deadletters", "--limit", "many"}, `invalid argument "many" for "--limit" flag`, "changeproof deadletters"},
		{[]string{"alerts"}, "usage: changeproof alerts test|retry", "changeproof alerts"},
		{[]string{"alerts", "resend"}, `alerts: unknown subcommand "resend"`, "changeproof alerts"},
		{[]string{"backfill"}, "usage: changeproof backfill github", "changeproof backfill"},
		{[]string{"verify-export"}, "usage: changeproof verify-export DIR", "changeproof verify-export"},
		{[]string{"help", "nosuch"}, `unknown help topic "nosuch"`, "changeproof help"},
		{[]string{"findings", "extra"}, `unknown command "extra" for "changeproof findings"`, "changeproof findings"},
	} {
		out, errOut, code := runCLI(t, c.args...)
		lines := strings.Split(strings.TrimRight(errOut, "\n"), "\n")
		if code != exitUsage || out != "" || len(lines) != 2 || !strings.Contains(lines[0], c.want) ||
			lines[1] != "Run '"+c.hintedBy+" --help' for usage." {
			t.Errorf("changeproof %v: exit %d, stdout %q, stderr:\n%s\nwant exit 2, one line with %q and the hint", c.args, code, out, errOut, c.want)
		}
	}
	// A command that runs and fails: exit 1, its error on stderr.
	_, errOut, code := runCLI(t, "stats", "--data-dir", filepath.Join(t.TempDir(), "none"))
	if code != exitFailed || !strings.Contains(errOut, "changeproof stats: --data-dir") || !strings.Contains(errOut, "or pass --server") {
		t.Errorf("stats on a missing data dir: exit %d, stderr %q", code, errOut)
	}
}

// TestCompletion generates each shell's completion script, checks the
// bash one with bash -n, and asks the completion engine (what the scripts
// call) for a subcommand and a flag.
func TestCompletion(t *testing.T) {
	out, errOut, code := runCLI(t, "completion", "bash")
	if code != 0 || !strings.Contains(out, "__start_changeproof") {
		t.Fatalf("completion bash: exit %d, stderr %q\n%.300s", code, errOut, out)
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Fatal("bash is needed to check the completion script")
	}
	script := filepath.Join(t.TempDir(), "changeproof.bash")
	if err := os.WriteFile(script, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
	if msg, err := exec.Command(bash, "-n", script).CombinedOutput(); err != nil {
		t.Fatalf("bash -n: %v\n%s", err, msg)
	}
	for shell, marker := range map[string]string{"zsh": "#compdef changeproof", "fish": "complete -c changeproof"} {
		if out, _, code := runCLI(t, "completion", shell); code != 0 || !strings.Contains(out, marker) {
			t.Errorf("completion %s: exit %d, no %q", shell, code, marker)
		}
	}
	// A subcommand: "ver" completes to verify, verify-export and version.
	out, _, code = runCLI(t, "__complete", "ver")
	for _, want := range []string{"verify\t", "verify-export\t", "version\t"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("__complete ver (exit %d) lacks %q:\n%s", code, want, out)
		}
	}
	if strings.Contains(out, "serve\t") {
		t.Errorf("__complete ver offers serve:\n%s", out)
	}
	// A flag: "--f" after verify completes to its --format and --from.
	out, _, code = runCLI(t, "__complete", "verify", "--f")
	for _, want := range []string{"--format\t", "--from\t"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("__complete verify --f (exit %d) lacks %q:\n%s", code, want, out)
		}
	}
	if strings.Contains(out, "--limit") {
		t.Errorf("__complete verify --f offers another command's flag:\n%s", out)
	}
}
