package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/changeproof/changeproof/audit/sign"
	"github.com/changeproof/changeproof/model"
)

// signingKey makes an ed25519 key with ssh-keygen; it skips where there is
// none (the signature exists for ssh-keygen, nothing else can judge it).
func signingKey(t *testing.T) (key, keygen string) {
	t.Helper()
	keygen, err := exec.LookPath("ssh-keygen")
	if err != nil {
		t.Skip("ssh-keygen not installed (Debian: apt-get install openssh-client): signed exports cannot be checked")
	}
	key = filepath.Join(t.TempDir(), "signing_key")
	if out, err := exec.Command(keygen, "-q", "-t", "ed25519", "-N", "", "-C", "changeproof", "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	return key, keygen
}

// auditorServer starts a server with the chain history ingested and
// judged, exports signed with a fresh key; it returns the server, the
// config path, the data dir and the key.
func auditorServer(t *testing.T, database string) (srv *child, cfgPath, dataDir, key, keygen string) {
	t.Helper()
	key, keygen = signingKey(t)
	_, cfgPath = testConfigExtra(t, database, aliceIdentity+"signing:\n  key_file: "+key+"\n  identity: auditors@acme.example\n")
	dataDir = filepath.Join(t.TempDir(), "data")
	srv = startChild(t, "serve", "--config", cfgPath, "--data-dir", dataDir, "--addr", "127.0.0.1:0", "--log-format", "console")
	h := buildChain()
	if _, err := sendAll(context.Background(), "http://"+srv.addr+"/webhooks/github", testSecret, h.deliveries, 1); err != nil {
		t.Fatal(err)
	}
	settled(t, srv.addr)
	return srv, cfgPath, dataDir, key, keygen
}

func apiGet(t *testing.T, url string) []byte {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %s", url, resp.Status, b)
	}
	return b
}

// apiCounts counts GET /v1/findings's answer per rule and outcome.
func apiCounts(t *testing.T, addr, from, to string) map[string]map[model.Outcome]int {
	t.Helper()
	var out struct{ Findings []model.Finding }
	if err := json.Unmarshal(apiGet(t, "http://"+addr+"/v1/findings?from="+from+"&to="+to), &out); err != nil {
		t.Fatal(err)
	}
	counts := map[string]map[model.Outcome]int{}
	for _, f := range out.Findings {
		if counts[f.Rule] == nil {
			counts[f.Rule] = map[model.Outcome]int{}
		}
		counts[f.Rule][f.Outcome]++
	}
	return counts
}

type reportJSON struct {
	Controls []struct {
		ID         string
		Population int
		Outcomes   map[model.Outcome]int
		Exceptions int
	}
	Exceptions []struct{ Rule, Subject, Status, Reason string }
	ChainHeads []struct {
		Seq  uint64 `json:"head_seq"`
		Hash string `json:"head_hash"`
	} `json:"chain_heads"`
}

// TestReportEqualsTheAPIAndIsSigned makes the period report from a running
// server and from the data dir: its numbers are GET /v1/findings's, two
// reports of the same data differ only in their generation time, the
// manifest's signature passes ssh-keygen -Y verify and verify-export, and
// fails both after one byte changes; a signed sample passes too.
func TestReportEqualsTheAPIAndIsSigned(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers")
	}
	srv, cfgPath, dataDir, _, keygen := auditorServer(t, "report_e2e")
	from, to := "2026-02-01", "2026-02-28"
	want := apiCounts(t, srv.addr, from, to)
	if len(want) == 0 {
		t.Fatal("no findings in the period: the test would prove nothing")
	}

	remote := filepath.Join(t.TempDir(), "remote")
	runChild(t, "report", "--server", "http://"+srv.addr, "--token", testToken, "--from", from, "--to", to, "--out", remote)
	// A signed sample, through POST /v1/samples.
	sample := filepath.Join(t.TempDir(), "sample")
	runChild(t, "sample", "--server", "http://"+srv.addr, "--token", testToken, "--from", from, "--to", to,
		"--size", "2", "--seed", "s1", "--out", sample)
	// The same sample drawn in the web UI, downloaded as a zip.
	uiSample := filepath.Join(t.TempDir(), "ui-sample")
	uiDownload(t, "http://"+srv.addr, "/ui/sample", url.Values{"from": {from}, "to": {to}, "size": {"2"}, "seed": {"s1"},
		"population": {"changes"}}, uiSample)
	for _, f := range []string{"population.csv", "sample.csv"} {
		if !bytes.Equal(readFile(t, filepath.Join(sample, f)), readFile(t, filepath.Join(uiSample, f))) {
			t.Errorf("%s of the UI's sample differs from the CLI's", f)
		}
	}
	oscalDir := filepath.Join(t.TempDir(), "oscal")
	runChild(t, "report", "--server", "http://"+srv.addr, "--token", testToken, "--from", from, "--to", to, "--format", "oscal", "--out", oscalDir)
	_ = srv.cmd.Process.Signal(syscall.SIGTERM)
	_ = srv.cmd.Wait()
	time.Sleep(10 * time.Millisecond)
	local := filepath.Join(t.TempDir(), "local")
	runChild(t, "report", "--config", cfgPath, "--data-dir", dataDir, "--from", from, "--to", to, "--out", local)
	localSample := filepath.Join(t.TempDir(), "local-sample")
	runChild(t, "sample", "--config", cfgPath, "--data-dir", dataDir, "--from", from, "--to", to,
		"--size", "2", "--seed", "s1", "--out", localSample)

	var r reportJSON
	if err := json.Unmarshal(readFile(t, filepath.Join(remote, "report.json")), &r); err != nil {
		t.Fatal(err)
	}
	got := map[string]map[model.Outcome]int{}
	for _, c := range r.Controls {
		n := 0
		for o, k := range c.Outcomes {
			if k > 0 {
				if got[c.ID] == nil {
					got[c.ID] = map[model.Outcome]int{}
				}
				got[c.ID][o] = k
				n += k
			}
		}
		if n != c.Population {
			t.Errorf("%s: population %d, outcomes add up to %d", c.ID, c.Population, n)
		}
	}
	if !equalCounts(got, want) {
		t.Fatalf("report counts %v\nAPI counts    %v", got, want)
	}
	if len(r.ChainHeads) != 1 || len(r.ChainHeads[0].Hash) != 64 {
		t.Fatalf("chain heads = %+v", r.ChainHeads)
	}
	fails := 0
	for _, c := range want {
		fails += c[model.Fail] + c[model.Waived]
	}
	if fails == 0 || len(r.Exceptions) < fails {
		t.Fatalf("%d exceptions listed, %d fails and waivers in the API", len(r.Exceptions), fails)
	}

	// Same data, another run: the same bytes but for the generation time.
	var genA, genB struct {
		GeneratedAt time.Time `json:"generated_at"`
	}
	json.Unmarshal(readFile(t, filepath.Join(remote, "report.json")), &genA)
	json.Unmarshal(readFile(t, filepath.Join(local, "report.json")), &genB)
	for _, name := range []string{"report.json", "report.html", "exceptions.csv"} {
		a := stripTime(readFile(t, filepath.Join(remote, name)), genA.GeneratedAt)
		b := stripTime(readFile(t, filepath.Join(local, name)), genB.GeneratedAt)
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between two reports of the same data beyond the generation time", name)
		}
	}

	// Signatures: verify-export and ssh-keygen accept each export...
	for _, dir := range []string{remote, local, sample, oscalDir, uiSample, localSample} {
		out, err := runChildErr("verify-export", dir)
		if err != nil || !strings.Contains(out, "good \"changeproof\" signature") {
			t.Fatalf("verify-export %s: %v\n%s", dir, err, out)
		}
		keygenVerify(t, keygen, dir, true)
	}
	if _, err := os.Stat(filepath.Join(oscalDir, "assessment-results.json")); err != nil {
		t.Fatalf("--format oscal: %v", err)
	}
	// ...and refuse them after one byte of manifest.json changes.
	mpath := filepath.Join(remote, "manifest.json")
	m := readFile(t, mpath)
	m = bytes.Replace(m, []byte(`"format": "changeproof-report/1"`), []byte(`"format": "changeproof-report/2"`), 1)
	if err := os.WriteFile(mpath, m, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := runChildErr("verify-export", remote); err == nil {
		t.Fatalf("verify-export accepted a changed manifest:\n%s", out)
	}
	keygenVerify(t, keygen, remote, false)
	// One byte of a listed file changes: the hashes catch it.
	p := filepath.Join(local, "exceptions.csv")
	b := readFile(t, p)
	b[len(b)-2] ^= 1
	os.WriteFile(p, b, 0o644)
	if out, err := runChildErr("verify-export", local); err == nil || !strings.Contains(out, "exceptions.csv has SHA-256") {
		t.Fatalf("verify-export after exceptions.csv changed: %v\n%s", err, out)
	}
}

// uiDownload signs in to the web UI as a browser would (a cookie jar, the
// form's CSRF field), posts the form at path and unpacks the zip it
// answers with into dir.
func uiDownload(t *testing.T, base, path string, form url.Values, dir string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	post := func(p string, form url.Values) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, base+p, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", base)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	resp := post("/ui/signin", url.Values{"token": {testToken}})
	resp.Body.Close()
	resp, err := c.Get(base + path)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="csrf" value="([0-9a-f]{64})"`).FindSubmatch(page)
	if m == nil {
		t.Fatalf("GET %s: %d, no CSRF field:\n%s", path, resp.StatusCode, page)
	}
	form.Set("csrf", string(m[1]))
	resp = post(path, form)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/zip" {
		t.Fatalf("POST %s: %d %s\n%s", path, resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(rc)
		rc.Close()
		p := filepath.Join(dir, filepath.FromSlash(f.Name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// keygenVerify runs the auditor's command from the README in dir.
func keygenVerify(t *testing.T, keygen, dir string, wantOK bool) {
	t.Helper()
	var m struct {
		Signature *struct {
			Identity  string
			PublicKey string `json:"public_key"`
		}
	}
	if err := json.Unmarshal(readFile(t, filepath.Join(dir, "manifest.json")), &m); err != nil || m.Signature == nil {
		t.Fatalf("%s: manifest names no signature (%v)", dir, err)
	}
	if m.Signature.Identity != "auditors@acme.example" {
		t.Fatalf("identity %q", m.Signature.Identity)
	}
	allowed := filepath.Join(t.TempDir(), "allowed_signers")
	line := m.Signature.Identity + ` namespaces="` + sign.Namespace + `" ` + m.Signature.PublicKey + "\n"
	os.WriteFile(allowed, []byte(line), 0o644)
	cmd := exec.Command(keygen, "-Y", "verify", "-f", allowed, "-I", m.Signature.Identity, "-n", "changeproof", "-s", filepath.Join(dir, "manifest.json.sig"))
	f, _ := os.Open(filepath.Join(dir, "manifest.json"))
	defer f.Close()
	cmd.Stdin = f
	out, err := cmd.CombinedOutput()
	if wantOK && err != nil {
		t.Fatalf("ssh-keygen -Y verify in %s: %v\n%s", dir, err, out)
	}
	if !wantOK && err == nil {
		t.Fatalf("ssh-keygen -Y verify accepted a changed manifest in %s:\n%s", dir, out)
	}
}

func equalCounts(a, b map[string]map[model.Outcome]int) bool {
	if len(a) != len(b) {
		return false
	}
	for rule, c := range a {
		if len(c) != len(b[rule]) {
			return false
		}
		for o, k := range c {
			if b[rule][o] != k {
				return false
			}
		}
	}
	return true
}

func stripTime(b []byte, at time.Time) []byte {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04 UTC"} {
		b = bytes.ReplaceAll(b, []byte(at.UTC().Format(layout)), []byte("GENERATED"))
	}
	return b
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
