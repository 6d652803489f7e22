package main

import (
	"archive/zip"
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/changeproof/changeproof/api"
)

// zipServer answers POST /v1/samples with a zip holding files.
func zipServer(t *testing.T, files map[string]string) *httptest.Server {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write([]byte(body))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/zip")
		_, _ = w.Write(buf.Bytes())
	}))
	t.Cleanup(srv.Close)
	return srv
}

// sample --server unpacks the names the server writes, ".." inside a name
// included (a subject such as acme/pay..ments#7), and refuses names that
// leave the output directory.
func TestSampleServerFileNames(t *testing.T) {
	ok := zipServer(t, map[string]string{"manifest.json": `{"seed":"s"}`, "evidence/1-acme_pay..ments_7.json": "{}", "evidence/2-..json": "{}"})
	dir := filepath.Join(t.TempDir(), "out")
	if _, err := (&remote{server: ok.URL, token: "t"}).Sample(context.Background(), api.SampleRequest{}, dir); err != nil {
		t.Fatalf("safe names refused: %v", err)
	}
	for _, name := range []string{"evidence/1-acme_pay..ments_7.json", "evidence/2-..json"} {
		if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(name))); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	for _, bad := range []string{"../escape.json", "evidence/../../escape.json", "/etc/cron.d/x", `evidence\..\..\x`} {
		srv := zipServer(t, map[string]string{bad: "{}"})
		_, err := (&remote{server: srv.URL, token: "t"}).Sample(context.Background(), api.SampleRequest{}, filepath.Join(t.TempDir(), "out"))
		if err == nil || !strings.Contains(err.Error(), "unsafe path") {
			t.Errorf("%q: %v, want unsafe path", bad, err)
		}
	}
}
