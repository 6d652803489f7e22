package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestExportPassesPeriodThrough(t *testing.T) {
	loc := time.FixedZone("CEST", 2*3600)
	from := time.Date(2026, 1, 1, 1, 0, 0, 0, loc) // 2025-12-31T23:00:00Z
	to := time.Date(2026, 7, 1, 1, 59, 59, 999_999_999, loc)
	src := &fakeSource{}
	_, m := export(t, src, Request{Population: "deploys", From: from, To: to, Size: 5, Seed: "s", Now: fixedNow(t0)})
	if src.gotPop != "deploys" {
		t.Errorf("population %q, want deploys", src.gotPop)
	}
	if src.gotFrom != from || src.gotTo != to {
		t.Errorf("source got [%v, %v], want [%v, %v] unchanged", src.gotFrom, src.gotTo, from, to)
	}
	if !m.Period.From.Equal(from) || !m.Period.To.Equal(to) || m.Period.From.Location() != time.UTC {
		t.Errorf("manifest period %+v, want the same instants in UTC", m.Period)
	}
	src = &fakeSource{}
	_, m = export(t, src, Request{From: from, To: to, Size: 5, Seed: "s"})
	if src.gotPop != "changes" || m.Population != "changes" {
		t.Errorf("default population %q/%q, want changes", src.gotPop, m.Population)
	}
}

func TestExportPeriodBoundsChecked(t *testing.T) {
	from, to := period()
	// Members exactly on both bounds belong to the period.
	ms := changes(3)
	ms[0].OccurredAt, ms[2].OccurredAt = from, to
	if _, m := export(t, &fakeSource{members: ms}, Request{From: from, To: to, Size: 3, Seed: "s"}); m.PopulationSize != 3 {
		t.Fatalf("population size %d, want 3", m.PopulationSize)
	}
	// A source that returns a member outside the period is caught.
	ms[2].OccurredAt = to.Add(time.Millisecond)
	_, err := Export(context.Background(), &fakeSource{members: ms}, Request{From: from, To: to, Size: 3, Seed: "s"}, filepath.Join(t.TempDir(), "x"))
	if err == nil || !strings.Contains(err.Error(), "acme/api#3") || !strings.Contains(err.Error(), "outside the period") {
		t.Fatalf("err = %v, want member acme/api#3 outside the period", err)
	}
}

func TestExportDeterministic(t *testing.T) {
	from, to := period()
	ms := changes(60)
	d1, m1 := export(t, &fakeSource{members: ms}, Request{From: from, To: to, Size: 12, Seed: "audit-2026", Now: fixedNow(t0), ToolVersion: "v1"})
	d2, m2 := export(t, &fakeSource{members: ms}, Request{From: from, To: to, Size: 12, Seed: "audit-2026", Now: fixedNow(t0.Add(time.Hour)), ToolVersion: "v2"})
	f1, f2 := listFiles(t, d1), listFiles(t, d2)
	if !reflect.DeepEqual(f1, f2) {
		t.Fatalf("file lists differ:\n%v\n%v", f1, f2)
	}
	if len(m1.Reproducible) != 2+12 {
		t.Fatalf("reproducible = %v", m1.Reproducible)
	}
	for _, f := range m1.Reproducible {
		if !bytes.Equal(readFile(t, d1, f), readFile(t, d2, f)) {
			t.Errorf("%s differs between two exports of the same data and seed", f)
		}
		if m1.Files[f] != m2.Files[f] {
			t.Errorf("%s: manifest hashes differ", f)
		}
	}
	if bytes.Equal(readFile(t, d1, "manifest.json"), readFile(t, d2, "manifest.json")) {
		t.Error("manifests of different generation times are identical")
	}
	if !reflect.DeepEqual(m1.Sample, m2.Sample) {
		t.Errorf("samples differ: %v, %v", m1.Sample, m2.Sample)
	}
}

func TestExportSeedsDiffer(t *testing.T) {
	from, to := period()
	ms := changes(200)
	d1, m1 := export(t, &fakeSource{members: ms}, Request{From: from, To: to, Size: 25, Seed: "one"})
	d2, m2 := export(t, &fakeSource{members: ms}, Request{From: from, To: to, Size: 25, Seed: "two"})
	if m1.SampleSizeDrawn != 25 || m2.SampleSizeDrawn != 25 {
		t.Fatalf("drawn %d, %d; want 25", m1.SampleSizeDrawn, m2.SampleSizeDrawn)
	}
	if reflect.DeepEqual(m1.Sample, m2.Sample) {
		t.Fatal("different seeds drew the same sample")
	}
	if bytes.Equal(readFile(t, d1, "sample.csv"), readFile(t, d2, "sample.csv")) {
		t.Fatal("different seeds wrote the same sample.csv")
	}
	if !bytes.Equal(readFile(t, d1, "population.csv"), readFile(t, d2, "population.csv")) {
		t.Fatal("the seed changed population.csv")
	}
}

func TestExportSizeLargerThanPopulation(t *testing.T) {
	from, to := period()
	dir, m := export(t, &fakeSource{members: changes(4)}, Request{From: from, To: to, Size: 10, Seed: "s"})
	if m.SampleSizeRequested != 10 || m.SampleSizeDrawn != 4 || m.PopulationSize != 4 {
		t.Fatalf("requested %d drawn %d population %d; want 10, 4, 4", m.SampleSizeRequested, m.SampleSizeDrawn, m.PopulationSize)
	}
	if !strings.Contains(m.Note, "fewer than the 10 requested") || !strings.Contains(m.Note, "every member is taken") {
		t.Errorf("note %q does not say every member was taken", m.Note)
	}
	if want := []string{"acme/api#1", "acme/api#2", "acme/api#3", "acme/api#4"}; !reflect.DeepEqual(m.Sample, want) {
		t.Errorf("sample %v, want %v", m.Sample, want)
	}
	var raw map[string]any
	if err := json.Unmarshal(readFile(t, dir, "manifest.json"), &raw); err != nil {
		t.Fatal(err)
	}
	if raw["note"] != m.Note {
		t.Errorf("manifest.json note = %v", raw["note"])
	}
	if n := len(listFiles(t, filepath.Join(dir, "evidence"))); n != 4 {
		t.Errorf("%d evidence files, want 4", n)
	}
}

func TestExportEmptyPopulation(t *testing.T) {
	from, to := period()
	src := &fakeSource{}
	dir, m := export(t, src, Request{From: from, To: to, Frequency: "weekly", Now: fixedNow(t0)})
	if m.Note != "population is empty: nothing to sample" {
		t.Errorf("note = %q", m.Note)
	}
	if m.PopulationSize != 0 || m.SampleSizeDrawn != 0 || m.SampleSizeRequested != 15 || len(m.Sample) != 0 {
		t.Errorf("manifest sizes %+v", m)
	}
	if len(src.bundleCalls) != 0 {
		t.Errorf("bundles asked for %v", src.bundleCalls)
	}
	if got := string(readFile(t, dir, "population.csv")); got != "subject,occurred_at,kind,repo,sha,actor,title,url,CM-1,CM-2,CM-3,CM-4,CM-5,CM-6,CM-7\n" {
		t.Errorf("population.csv = %q", got)
	}
	if got := string(readFile(t, dir, "sample.csv")); got != "subject,occurred_at,kind,repo,sha,actor,title,url,CM-1,CM-2,CM-3,CM-4,CM-5,CM-6,CM-7,sample_number,draw_key,evidence_file\n" {
		t.Errorf("sample.csv = %q", got)
	}
	var raw map[string]any
	if err := json.Unmarshal(readFile(t, dir, "manifest.json"), &raw); err != nil {
		t.Fatal(err)
	}
	if raw["note"] != "population is empty: nothing to sample" || raw["population_size"] != 0.0 {
		t.Errorf("manifest.json = %v", raw)
	}
	if !strings.Contains(string(readFile(t, dir, "summary.html")), "population is empty: nothing to sample") {
		t.Error("summary.html does not say the population is empty")
	}
	want := []string{"manifest.json", "population.csv", "sample.csv", "summary.html"}
	if got := listFiles(t, dir); !reflect.DeepEqual(got, want) {
		t.Errorf("files %v, want %v", got, want)
	}
}

func TestManifestHashesVerify(t *testing.T) {
	from, to := period()
	dir, _ := export(t, &fakeSource{members: changes(30)}, Request{From: from, To: to, Frequency: "monthly", Seed: "x", ChainHead: "c0ffee", ToolVersion: "1.2.3", Now: fixedNow(t0)})
	data := readFile(t, dir, "manifest.json")
	var onDisk Manifest
	if err := json.Unmarshal(data, &onDisk); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(data, []byte("}\n")) || !bytes.Contains(data, []byte("\n  \"period\": {\n    \"from\": ")) {
		t.Errorf("manifest.json is not 2-space indented with a trailing newline:\n%s", data)
	}
	files := listFiles(t, dir)
	if len(onDisk.Files) != len(files)-1 {
		t.Errorf("manifest lists %d files, directory has %d besides the manifest", len(onDisk.Files), len(files)-1)
	}
	for _, f := range files {
		if f == "manifest.json" {
			continue
		}
		sum := sha256.Sum256(readFile(t, dir, f))
		if got := hex.EncodeToString(sum[:]); onDisk.Files[f] != got {
			t.Errorf("%s: manifest says %s, file hashes to %s", f, onDisk.Files[f], got)
		}
	}
	if onDisk.PopulationSHA256 != onDisk.Files["population.csv"] || onDisk.PopulationSHA256 == "" {
		t.Errorf("population_sha256 %q, files %q", onDisk.PopulationSHA256, onDisk.Files["population.csv"])
	}
	if onDisk.ChainHead != "c0ffee" || onDisk.ToolVersion != "1.2.3" || !onDisk.GeneratedAt.Equal(t0) || onDisk.Seed != "x" || onDisk.SeedGenerated {
		t.Errorf("manifest %+v", onDisk)
	}
	if onDisk.Frequency != "monthly" || onDisk.SizeBasis != "frequency table" || onDisk.SampleSizeRequested != 5 {
		t.Errorf("size %d basis %q frequency %q", onDisk.SampleSizeRequested, onDisk.SizeBasis, onDisk.Frequency)
	}
	for _, want := range []string{"SHA-256", `seed + "\n" + subject`, "not an AICPA rule", "monthly 2-5", "import csv, hashlib, json"} {
		if !strings.Contains(onDisk.Method, want) {
			t.Errorf("method does not mention %q:\n%s", want, onDisk.Method)
		}
	}
	// Every documented field is present under its snake_case name.
	var raw map[string]any
	_ = json.Unmarshal(data, &raw)
	for _, k := range []string{"format", "period", "population", "population_size", "population_sha256", "sample_size_requested",
		"sample_size_drawn", "size_basis", "frequency", "seed", "seed_generated", "method", "sample", "tool_version",
		"generated_at", "chain_head", "reproducible", "files"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("manifest.json has no %q", k)
		}
	}
}

func TestExportFiles(t *testing.T) {
	from, to := period()
	ms := changes(40)
	src := &fakeSource{members: ms}
	dir, m := export(t, src, Request{From: from, To: to, Size: 6, Seed: "files"})

	pop := readFile(t, dir, "population.csv")
	if bytes.HasPrefix(pop, []byte("\xef\xbb\xbf")) || bytes.Contains(pop, []byte("\r")) {
		t.Error("population.csv has a BOM or CR line endings")
	}
	recs, err := csv.NewReader(bytes.NewReader(pop)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 41 || recs[0][0] != "subject" || recs[0][1] != "occurred_at" {
		t.Fatalf("population.csv: %d records, header %v", len(recs), recs[0])
	}
	var subs []string
	for _, r := range recs[1:] {
		subs = append(subs, r[0])
	}
	if !sort.StringsAreSorted(subs) {
		t.Errorf("population.csv is not sorted by subject: %v", subs)
	}
	// acme/api#1 round-trips, quotes, commas, newline and all.
	if recs[1][0] != "acme/api#1" || recs[1][1] != "2026-01-01T00:00:00Z" || recs[1][6] != "Change 1, with \"quotes\", commas\nand a newline" || recs[1][8] != "pass" {
		t.Errorf("first row %q", recs[1])
	}

	srecs, err := csv.NewReader(bytes.NewReader(readFile(t, dir, "sample.csv"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(srecs) != 7 {
		t.Fatalf("sample.csv has %d records, want 7", len(srecs))
	}
	h := srecs[0]
	if h[0] != "subject" || h[len(h)-3] != "sample_number" || h[len(h)-2] != "draw_key" || h[len(h)-1] != "evidence_file" {
		t.Errorf("sample.csv header %v", h)
	}
	for i, r := range srecs[1:] {
		n := i + 1
		if r[0] != m.Sample[i] || r[len(r)-3] != strconv.Itoa(n) || r[len(r)-2] != DrawKey("files", r[0]) || r[len(r)-1] != EvidencePath(n, r[0]) {
			t.Errorf("sample row %d = %q", n, r)
		}
		// The sample row carries the member's population columns.
		for _, pr := range recs[1:] {
			if pr[0] == r[0] && !reflect.DeepEqual(pr, r[:len(pr)]) {
				t.Errorf("sample row %v differs from population row %v", r, pr)
			}
		}
		ev := readFile(t, dir, EvidencePath(n, r[0]))
		var b testBundle
		if err := json.Unmarshal(ev, &b); err != nil || b.Subject != r[0] {
			t.Errorf("evidence %d: %v, subject %q", n, err, b.Subject)
		}
		if !bytes.HasSuffix(ev, []byte("}\n")) || !bytes.Contains(ev, []byte("\n  \"subject\": ")) || !bytes.Contains(ev, []byte(`<b>bold</b> &`)) {
			t.Errorf("evidence %d is not 2-space indented, newline-terminated, unescaped JSON:\n%s", n, ev)
		}
	}
	// Bundles are fetched concurrently: each member once, in any order.
	calls := append([]string(nil), src.bundleCalls...)
	sort.Strings(calls)
	if !reflect.DeepEqual(calls, m.Sample) {
		t.Errorf("bundles asked for %v, want %v", src.bundleCalls, m.Sample)
	}
}

func TestExportGeneratesSeed(t *testing.T) {
	from, to := period()
	dir, m := export(t, &fakeSource{members: changes(10)}, Request{From: from, To: to, Size: 3})
	if !m.SeedGenerated || len(m.Seed) != 32 {
		t.Fatalf("seed %q generated %v", m.Seed, m.SeedGenerated)
	}
	var raw map[string]any
	_ = json.Unmarshal(readFile(t, dir, "manifest.json"), &raw)
	if raw["seed"] != m.Seed || raw["seed_generated"] != true {
		t.Errorf("manifest.json seed %v generated %v", raw["seed"], raw["seed_generated"])
	}
	if !reflect.DeepEqual(m.Sample, subjects(Draw(changes(10), 3, m.Seed))) {
		t.Error("the sample was not drawn with the recorded seed")
	}
}

func TestExportRefusesNonEmptyDir(t *testing.T) {
	from, to := period()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "old.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	src := &fakeSource{members: changes(3)}
	_, err := Export(context.Background(), src, Request{From: from, To: to, Size: 1, Seed: "s"}, dir)
	if err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("err = %v, want a refusal", err)
	}
	if src.gotPop != "" {
		t.Error("the source was queried before the directory was checked")
	}
	// An existing empty directory is fine.
	if _, err := Export(context.Background(), src, Request{From: from, To: to, Size: 1, Seed: "s"}, t.TempDir()); err != nil {
		t.Fatalf("empty existing dir: %v", err)
	}
}

func TestExportRejectsBadRequests(t *testing.T) {
	from, to := period()
	cases := []struct {
		name string
		req  Request
		want string
	}{
		{"size and frequency", Request{From: from, To: to, Size: 5, Frequency: "daily"}, "not both"},
		{"no size", Request{From: from, To: to}, "frequency"},
		{"negative size", Request{From: from, To: to, Size: -1}, "positive"},
		{"bad frequency", Request{From: from, To: to, Frequency: "hourly"}, "valid values are annual"},
		{"no period", Request{Size: 1}, "from and to are required"},
		{"reversed period", Request{From: to, To: from, Size: 1}, "before"},
		{"population", Request{Population: "pushes", From: from, To: to, Size: 1}, "valid values are changes, deploys, access"},
		{"seed with newline", Request{From: from, To: to, Size: 1, Seed: "a\nb"}, "control character"},
		{"seed with space", Request{From: from, To: to, Size: 1, Seed: " a"}, "white space"},
	}
	for _, c := range cases {
		dir := filepath.Join(t.TempDir(), "out")
		_, err := Export(context.Background(), &fakeSource{members: changes(3)}, c.req, dir)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want it to mention %q", c.name, err, c.want)
		}
		if _, statErr := os.Stat(dir); statErr == nil {
			t.Errorf("%s: a failed export created its directory", c.name)
		}
	}
}

func TestExportRejectsBadMembers(t *testing.T) {
	from, to := period()
	dup := changes(3)
	dup[2].Subject = dup[0].Subject
	unknown := changes(2)
	unknown[1].Columns = append(unknown[1].Columns, Column{Name: "colour", Value: "red"})
	noSubject := changes(2)
	noSubject[0].Subject = ""
	cases := []struct {
		name    string
		members []Member
		want    string
	}{
		{"duplicate", dup, "appears twice"},
		{"unknown column", unknown, `column "colour" is not in the header`},
		{"no subject", noSubject, "no subject"},
	}
	for _, c := range cases {
		_, err := Export(context.Background(), &fakeSource{members: c.members}, Request{From: from, To: to, Size: 1, Seed: "s"}, filepath.Join(t.TempDir(), "o"))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", c.name, err, c.want)
		}
	}
	_, err := Export(context.Background(), &fakeSource{members: changes(3), bundleErr: errors.New("store down")},
		Request{From: from, To: to, Size: 1, Seed: "s"}, filepath.Join(t.TempDir(), "o"))
	if err == nil || !strings.Contains(err.Error(), "store down") || !strings.Contains(err.Error(), "evidence bundle of acme/api#") {
		t.Errorf("bundle failure: err = %v", err)
	}
}

func TestExportCustomHeader(t *testing.T) {
	from, to := period()
	ms := []Member{{Subject: "ssh:1", OccurredAt: from, Columns: []Column{{"AC-1", "fail"}, {"principal", "mallory"}}}}
	src := &fakeSource{members: ms, header: []string{"principal", "AC-1"}}
	dir, _ := export(t, src, Request{Population: "access", From: from, To: to, Size: 1, Seed: "s"})
	if got := string(readFile(t, dir, "population.csv")); got != "subject,occurred_at,principal,AC-1\nssh:1,2026-01-01T00:00:00Z,mallory,fail\n" {
		t.Errorf("population.csv = %q", got)
	}
	src.header = []string{"subject"}
	_, err := Export(context.Background(), src, Request{Population: "access", From: from, To: to, Size: 1, Seed: "s"}, filepath.Join(t.TempDir(), "o"))
	if err == nil || !strings.Contains(err.Error(), "written by the export itself") {
		t.Errorf("reserved header column: err = %v", err)
	}
}

func TestExportAutoSize(t *testing.T) {
	from, to := period()
	_, m := export(t, &fakeSource{members: changes(100)}, Request{From: from, To: to, Frequency: "Daily", Seed: "s"})
	if m.SampleSizeRequested != 40 || m.SampleSizeDrawn != 40 || m.Frequency != "daily" || m.Note != "" {
		t.Errorf("requested %d drawn %d frequency %q note %q", m.SampleSizeRequested, m.SampleSizeDrawn, m.Frequency, m.Note)
	}
	if !strings.Contains(m.Method, "practitioner guidance") || !strings.Contains(m.Method, "daily 20-40") {
		t.Errorf("method does not cite the table:\n%s", m.Method)
	}
	_, m = export(t, &fakeSource{members: changes(100)}, Request{From: from, To: to, Size: 7, Seed: "s"})
	if m.Frequency != "" || m.SizeBasis != "requested" || strings.Contains(m.Method, "AICPA") {
		t.Errorf("explicit size: frequency %q basis %q method:\n%s", m.Frequency, m.SizeBasis, m.Method)
	}
}
