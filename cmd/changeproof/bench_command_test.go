package main

import (
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestBenchGenerateAndRules runs `bench generate` and `bench rules` through
// the binary on a small organisation: every control gives its outcomes on
// the generated data, a second full evaluation records nothing, one with
// every unit due judges every repository and system again, and each
// incremental event records the verdicts it changes. The figures are not
// checked: they belong to the machine.
func TestBenchGenerateAndRules(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	dir := filepath.Join(t.TempDir(), "bench")
	out := runChild(t, "bench", "generate", "--changes", "2000", "--reviews", "6000", "--deploys", "200", "--access", "20000",
		"--repos", "4", "--data-dir", dir)
	for _, want := range []string{"pull_requests", "reviews", "pushes", "deploys", "protection_events", "access_events"} {
		if !regexp.MustCompile(`(?m)^` + want + ` +[1-9][0-9]* rows`).MatchString(out) {
			t.Errorf("generate wrote no %s:\n%s", want, out)
		}
	}
	if _, err := runChildErr("bench", "generate", "--changes", "10", "--repos", "1", "--data-dir", dir); err == nil {
		t.Error("generate over a store that holds data, without --force, succeeded")
	}

	out = runChild(t, "bench", "rules", "--data-dir", dir)
	t.Log(out)
	cold := regexp.MustCompile(`full evaluation, cold .*, (\d+) findings written`).FindStringSubmatch(out)
	if cold == nil {
		t.Fatalf("no cold evaluation line:\n%s", out)
	}
	if n, _ := strconv.Atoi(cold[1]); n < 20000 {
		t.Errorf("cold evaluation wrote %d findings", n)
	}
	for _, want := range []string{
		`(?m)^  CM-1 +.*fail \d+.*not_applicable \d+.*pass \d+`, `(?m)^  CM-2 +.*fail \d+.*pass \d+`, `(?m)^  CM-3 +fail \d+, pass \d+`,
		`(?m)^  CM-4 +fail \d+, pass \d+`, `(?m)^  CM-5 +fail \d+, pass \d+`, `(?m)^  CM-6 +fail \d+, pass \d+`,
		`(?m)^  AC-1 +error \d+, fail \d+, not_applicable \d+, pass \d+, waived 2`, `(?m)^  AC-2 +fail \d+, pass \d+`,
		`(?m)^  AC-3 +fail \d+, pass \d+`,
		`full evaluation, warm .*, 0 findings written`,
		`full evaluation, every unit due .*: [0-9.]+s \(4 of 4 repositories judged .*, [1-9]\d* of [1-9]\d* access systems, .*\), \d+ findings written, peak RSS \d+ MiB`,
		`(?m)^  peak RSS judging the repositories \d+ MiB \(Go \d+ MiB\), the access systems \d+ MiB`,
		`raw limit: .* -> ratio \d+\.\d\d`,
		`new review \(changes requested on .*\): verdicts recorded .* \(\d+ changed: [^)]*CM-2 fail`,
		`new merged pull request .*: verdicts recorded .* \(4 changed: CM-1 pass, CM-2 pass, CM-3 pass, CM-4 pass\) -> ratio`,
		`peak RSS of the process`,
	} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("bench rules output lacks %s", want)
		}
	}
	if !strings.Contains(out, "store: 4 repositories") {
		t.Errorf("bench rules saw another store:\n%s", out)
	}
}
