package main

import (
	"strings"
	"testing"
)

// TestBenchMemoryRuns runs `bench memory` through the binary on a small
// generated store: it must start serve, drive both loads and report. The
// figures themselves are for `make bench`, not for a test.
func TestBenchMemoryRuns(t *testing.T) {
	dir := t.TempDir()
	runChild(t, "bench", "generate", "--changes", "2000", "--reviews", "6000", "--deploys", "200", "--access", "20000",
		"--repos", "20", "--data-dir", dir)
	out := runChild(t, "bench", "memory", "--data-dir", dir, "--seconds", "1", "--upload-mib", "4", "--senders", "2")
	for _, want := range []string{"start-up (full evaluation", "idle RSS", "webhook deliveries", "of the 1.5 GiB target", "one upload of 1 MiB",
		"one upload of 4 MiB", "growth with a 4x larger upload"} {
		if !strings.Contains(out, want) {
			t.Errorf("bench memory output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, " 0 webhook deliveries") || strings.Contains(out, "(0 events") {
		t.Errorf("nothing was ingested:\n%s", out)
	}
}
