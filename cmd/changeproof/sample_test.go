package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestSampleExportIsReproducible samples the same period with the same
// seed from a running server (POST /v1/samples) and, after a restart, from
// the data dir: the population, sample and evidence files are identical.
func TestSampleExportIsReproducible(t *testing.T) {
	_, cfgPath := testConfig(t, "changeproof")
	dir := filepath.Join(t.TempDir(), "data")
	srv := startChild(t, "serve", "--config", cfgPath, "--data-dir", dir, "--addr", "127.0.0.1:0", "--log-format", "console")
	h := buildChain()
	if _, err := sendAll(context.Background(), "http://"+srv.addr+"/webhooks/github", testSecret, h.deliveries, 1); err != nil {
		t.Fatal(err)
	}
	settled(t, srv.addr)

	// The ingest role cannot take samples.
	req, _ := http.NewRequest(http.MethodPost, "http://"+srv.addr+"/v1/samples", strings.NewReader(`{"from":"2026-02-01","to":"2026-02-28","size":"2"}`))
	req.Header.Set("Authorization", "Bearer "+ingestToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("ingest token sampling: %d, want 403", resp.StatusCode)
	}

	remote := filepath.Join(t.TempDir(), "remote")
	runChild(t, "sample", "--server", "http://"+srv.addr, "--token", testToken, "--from", "2026-02-02", "--to", "2026-02-02",
		"--size", "2", "--seed", "s1", "--out", remote)
	_ = srv.cmd.Process.Signal(syscall.SIGTERM)
	_ = srv.cmd.Wait()
	local := filepath.Join(t.TempDir(), "local")
	runChild(t, "sample", "--config", cfgPath, "--data-dir", dir, "--from", "2026-02-02", "--to", "2026-02-02",
		"--size", "2", "--seed", "s1", "--out", local)

	var m struct {
		PopulationSize int               `json:"population_size"`
		Drawn          int               `json:"sample_size_drawn"`
		Reproducible   []string          `json:"reproducible"`
		Files          map[string]string `json:"files"`
		ChainHead      string            `json:"chain_head"`
	}
	b, err := os.ReadFile(filepath.Join(local, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	// The chain PRs #1, #2, #4 and the direct push all happened on 2026-02-02.
	if m.PopulationSize != 4 || m.Drawn != 2 || len(m.ChainHead) != 64 || len(m.Reproducible) != 4 {
		t.Fatalf("manifest = %+v", m)
	}
	// The server's manifest names the token that asked for it; a local
	// export names none.
	var who struct {
		RequestedBy *string `json:"requested_by"`
	}
	if b, err := os.ReadFile(filepath.Join(remote, "manifest.json")); err != nil || json.Unmarshal(b, &who) != nil || who.RequestedBy == nil || *who.RequestedBy != "auditor" {
		t.Errorf("server export's requested_by: %v (%v)", who.RequestedBy, err)
	}
	if strings.Contains(string(b), "requested_by") {
		t.Errorf("local export names a requester: %s", b)
	}
	for _, f := range m.Reproducible {
		a, errA := os.ReadFile(filepath.Join(local, f))
		r, errR := os.ReadFile(filepath.Join(remote, f))
		if errA != nil || errR != nil || !bytes.Equal(a, r) {
			t.Errorf("%s differs between the server's and the local export (%v, %v)", f, errA, errR)
		}
	}
	// Another seed draws another sample from the same population.
	other := filepath.Join(t.TempDir(), "other")
	runChild(t, "sample", "--config", cfgPath, "--data-dir", dir, "--from", "2026-02-02", "--to", "2026-02-02",
		"--size", "2", "--seed", "s2", "--out", other)
	p1, _ := os.ReadFile(filepath.Join(local, "population.csv"))
	p2, _ := os.ReadFile(filepath.Join(other, "population.csv"))
	s1, _ := os.ReadFile(filepath.Join(local, "sample.csv"))
	s2, _ := os.ReadFile(filepath.Join(other, "sample.csv"))
	if !bytes.Equal(p1, p2) || bytes.Equal(s1, s2) {
		t.Fatalf("seeds s1 and s2: same population %v, same sample %v", bytes.Equal(p1, p2), bytes.Equal(s1, s2))
	}
	// An empty period still gets a manifest saying so.
	empty := filepath.Join(t.TempDir(), "empty")
	out := runChild(t, "sample", "--config", cfgPath, "--data-dir", dir, "--from", "2025-01-01", "--to", "2025-01-31",
		"--size", "25", "--seed", "s1", "--out", empty)
	if !strings.Contains(out, "population 0, sampled 0") || !strings.Contains(out, "population is empty") {
		t.Fatalf("empty period:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(empty, "manifest.json")); err != nil {
		t.Fatal(err)
	}
}
