package audit

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// hostileSource returns markup and script everywhere a value can go.
type hostileSource struct{}

const evil = `<script>alert("x")</script>`

func (hostileSource) Population(context.Context, string, time.Time, time.Time) ([]Member, error) {
	cols, _ := ColumnNames(PopulationChanges)
	return []Member{{Subject: "acme/api#1" + evil, OccurredAt: t0, Columns: ColumnsFrom(cols, map[string]string{
		"title": evil, "url": "javascript:alert(1)", "CM-1": "fail", "CM-2": evil})}}, nil
}

func (hostileSource) Bundle(context.Context, string, string) (any, error) {
	return map[string]any{evil: evil, "url": `https://x.test/"><script>alert(1)</script>`, "link": "javascript:alert(2)",
		"outcome": "pass", "rows": []map[string]string{{"rule": "CM-1", "outcome": "fail", "reason": evil}}}, nil
}

func TestSummaryEscapes(t *testing.T) {
	from, to := period()
	dir, _ := export(t, hostileSource{}, Request{From: from, To: to, Size: 1, Seed: evil[1:7], ToolVersion: evil, ChainHead: evil})
	page := string(readFile(t, dir, "summary.html"))
	if strings.Contains(page, "<script") {
		t.Errorf("summary.html contains an unescaped <script")
	}
	if strings.Contains(page, `href="javascript`) {
		t.Error("summary.html links to a javascript: URL")
	}
	if !strings.Contains(page, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;") {
		t.Error("escaped markup missing from summary.html")
	}
	for _, ext := range []string{"<link", " src=", "@import", "url("} {
		if strings.Contains(page, ext) {
			t.Errorf("summary.html loads something (%q): it must be self-contained", ext)
		}
	}
}

func TestSummaryContent(t *testing.T) {
	from, to := period()
	dir, m := export(t, &fakeSource{members: changes(30)}, Request{From: from, To: to, Size: 4, Seed: "page", ChainHead: "abc123", ToolVersion: "0.9"})
	page := string(readFile(t, dir, "summary.html"))
	want := []string{"<!DOCTYPE html>", "2026-01-01T00:00:00Z", "2026-06-30T23:59:59.999Z", ">30<", "<code>page</code>",
		"abc123", "0.9", `<span class="badge o-pass">pass</span>`, "hashlib.sha256", m.PopulationSHA256,
		// the bundle, rendered in its own field order, with its findings as cards and review verdicts as a table
		"<dt>subject</dt>", "<dt>findings</dt>", "<th>reviewer</th>", "reason for CM-2",
		"Fix &lt;b&gt;bold&lt;/b&gt; &amp; &#34;quotes&#34;", `<div class="text">line one` + "\n" + `line two</div>`}
	for _, s := range m.Sample {
		want = append(want, ">"+s+"<")
	}
	for i := range m.Sample {
		want = append(want, `href="`+EvidencePath(i+1, m.Sample[i])+`"`)
	}
	for _, w := range want {
		if !strings.Contains(page, w) {
			t.Errorf("summary.html lacks %q", w)
		}
	}
	// Struct field order is kept: subject before in_scope before change.
	if i, j := strings.Index(page, "<dt>subject</dt>"), strings.Index(page, "<dt>in_scope</dt>"); i < 0 || j < i {
		t.Error("bundle fields are not shown in their JSON order")
	}
	// Empty values (the nil "z") are left out.
	if strings.Contains(page, "<dt>z</dt>") {
		t.Error("an empty field is shown")
	}
}

// TestSummaryRendersInChromium renders summary.html headless to a PNG when
// Chromium is installed.
func TestSummaryRendersInChromium(t *testing.T) {
	const chromium = "/usr/bin/chromium"
	if _, err := os.Stat(chromium); err != nil {
		t.Skipf("%s is not installed: summary.html not rendered in a browser", chromium)
	}
	from, to := period()
	dir, _ := export(t, &fakeSource{members: changes(30)}, Request{From: from, To: to, Size: 3, Seed: "png"})
	png := filepath.Join(t.TempDir(), "summary.png")
	cmd := exec.Command(chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
		"--window-size=1280,2400", "--screenshot="+png, "file://"+filepath.Join(dir, "summary.html"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, out)
	}
	data, err := os.ReadFile(png)
	if err != nil || len(data) < 8 || string(data[1:4]) != "PNG" {
		t.Fatalf("no PNG written: %v (%d bytes)", err, len(data))
	}
	t.Logf("rendered %s (%d bytes)", png, len(data))
}
