package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/changeproof/changeproof/alert/slack/slacktest"
	"github.com/changeproof/changeproof/internal/testkit/fixture"
)

// serverConfig is testConfig with keys added under server: and sections
// appended.
func serverConfig(t *testing.T, serverKeys, extra string) string {
	t.Helper()
	_, base := testConfig(t, "changeproof")
	text, err := os.ReadFile(base)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "limits.yaml")
	out := strings.Replace(string(text), "server:\n", "server:\n"+serverKeys, 1) + extra
	if err := os.WriteFile(path, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// closedWithin reports whether the server closes conn within d (EOF or
// reset), reading and discarding whatever it answers first.
func closedWithin(conn net.Conn, d time.Duration) bool {
	_ = conn.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, conn)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		return false
	}
	return true
}

// trickleCutOff sends head (request line and headers) announcing a 25 MiB
// body, then a byte every 200ms, as a slowloris would, and reports
// whether the server closed the connection within 6s.
func trickleCutOff(t *testing.T, addr, head string) bool {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "%sContent-Length: 26214400\r\n\r\n{", head)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Millisecond):
				if _, err := conn.Write([]byte(" ")); err != nil {
					return
				}
			}
		}
	}()
	return closedWithin(conn, 6*time.Second)
}

// Slow and idle clients are cut off, and oversized headers refused, as
// server.read_timeout, idle_timeout and max_header_bytes say.
func TestSlowIdleAndOversizedClientsAreCutOff(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers")
	}
	cfg := serverConfig(t, "  read_timeout: 1s\n  idle_timeout: 1s\n  max_header_bytes: 4096\n", "")
	srv := startChild(t, "serve", "--config", cfg, "--data-dir", filepath.Join(t.TempDir(), "data"), "--addr", "127.0.0.1:0")
	defer func() { _ = srv.cmd.Process.Signal(syscall.SIGTERM); _ = srv.cmd.Wait() }()

	t.Run("body a byte at a time", func(t *testing.T) {
		if !trickleCutOff(t, srv.addr, "POST /webhooks/github HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n") {
			t.Error("a body trickling in was still being read 6s later (read_timeout 1s)")
		}
	})
	t.Run("access upload a byte at a time", func(t *testing.T) {
		if !trickleCutOff(t, srv.addr, "POST /v1/access?format=generic HTTP/1.1\r\nHost: x\r\n"+
			"Authorization: Bearer e2e-ingest-token\r\nContent-Type: application/x-ndjson\r\n") {
			t.Error("an access upload trickling in was still being read 6s later (read_timeout 1s)")
		}
	})
	// An access log that keeps arriving is read to its end, however much
	// longer than read_timeout it takes to send.
	t.Run("access upload longer than read_timeout", func(t *testing.T) {
		pr, pw := io.Pipe()
		sent := 0
		go func() {
			var b []byte
			for start := time.Now(); time.Since(start) < 3*time.Second; time.Sleep(250 * time.Millisecond) {
				b = b[:0]
				for len(b) < 300<<10 {
					b = accessLine(b, "slow", sent)
					sent++
				}
				if _, err := pw.Write(b); err != nil {
					return
				}
			}
			pw.Close()
		}()
		req, _ := http.NewRequest(http.MethodPost, "http://"+srv.addr+"/v1/access?format=generic", pr)
		req.Header.Set("Authorization", "Bearer e2e-ingest-token")
		req.Header.Set("Content-Type", "application/x-ndjson")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("an upload arriving at 1.2 MB/s for 3s (read_timeout 1s): %v", err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusAccepted || !strings.Contains(string(body), fmt.Sprintf(`"accepted":%d,`, sent)) {
			t.Errorf("%d lines sent over 3s: %d %s", sent, resp.StatusCode, body)
		}
	})
	t.Run("idle keep-alive", func(t *testing.T) {
		conn, err := net.Dial("tcp", srv.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("healthz %d", resp.StatusCode)
		}
		if !closedWithin(conn, 6*time.Second) {
			t.Error("an idle keep-alive connection was still open 6s later (idle_timeout 1s)")
		}
	})
	t.Run("oversized headers", func(t *testing.T) {
		// The request goes out in one write, then the answer is read: the
		// server answers 431 and closes without reading the rest, and a
		// client still writing its headers then (net/http's transport
		// writes them in 4 KiB pieces) fails with a broken pipe instead of
		// reading the 431 (seen in CI, 2026-12-07).
		conn, err := net.Dial("tcp", srv.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		req := "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: " + strings.Repeat("a", 16<<10) + "\r\n\r\n"
		if _, err := io.WriteString(conn, req); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("16 KiB of headers over a 4 KiB limit: %d, want 431", resp.StatusCode)
		}
	})
}

// With server.tls_cert_file and tls_key_file the listener speaks HTTPS.
func TestServeTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers")
	}
	dir := t.TempDir()
	certFile, keyFile, pool := selfSigned(t, dir)
	cfg := serverConfig(t, fmt.Sprintf("  tls_cert_file: %q\n  tls_key_file: %q\n", certFile, keyFile), "")
	srv := startChild(t, "serve", "--config", cfg, "--data-dir", filepath.Join(dir, "data"), "--addr", "127.0.0.1:0")
	defer func() { _ = srv.cmd.Process.Signal(syscall.SIGTERM); _ = srv.cmd.Wait() }()
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := client.Get("https://" + srv.addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.TLS == nil {
		t.Fatalf("https healthz: %d, tls %v", resp.StatusCode, resp.TLS != nil)
	}
	if resp, err := http.Get("http://" + srv.addr + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Error("plain HTTP answered 200 on the TLS listener")
		}
	}
}

// selfSigned writes a certificate for 127.0.0.1 and its key.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "changeproof test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// SIGTERM while Slack does not answer stops within shutdown_timeout; the
// alert stays queued and goes out after the next start.
func TestSIGTERMBoundedWhileSlackHangs(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers")
	}
	sink := slacktest.New()
	defer sink.Close()
	sink.Script(slacktest.Answer{Hang: true})
	cfg := serverConfig(t, "  shutdown_timeout: 3s\n",
		fmt.Sprintf("alerts:\n  grace: 1s\n  api_url: http://changeproof.test\n  slack:\n    webhook_url: %q\n", sink.WebhookURL()))
	dir := filepath.Join(t.TempDir(), "data")
	srv := startChild(t, "serve", "--config", cfg, "--data-dir", dir, "--addr", "127.0.0.1:0", "--log-format", "console")
	repo := fixture.Repo{FullName: "acme/payments-api", DefaultBranch: "main"}
	direct, at := fixture.SHA("direct"), time.Now().UTC().Add(-time.Hour)
	ds := []fixture.Delivery{{Event: "push", ID: "t-push", Body: fixture.Push(fixture.PushEvent{Repo: repo, Before: fixture.SHA("b"), After: direct,
		Pusher: "dave", PushedAt: at, Commits: []fixture.Commit{{SHA: direct, Message: "hotfix", Author: "dave", Timestamp: at}}})}}
	if _, err := sendAll(context.Background(), "http://"+srv.addr+"/webhooks/github", testSecret, ds, 1); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(60 * time.Second); len(sink.Requests()) == 0; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no alert reached Slack")
		}
	}
	start := time.Now()
	_ = srv.cmd.Process.Signal(syscall.SIGTERM)
	_ = srv.cmd.Wait()
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("SIGTERM with Slack hanging took %v, shutdown_timeout is 3s", took)
	}
	if n := len(sink.Delivered()); n != 0 {
		t.Fatalf("%d delivered while Slack hung", n)
	}
	srv = startChild(t, "serve", "--config", cfg, "--data-dir", dir, "--addr", "127.0.0.1:0", "--log-format", "console")
	defer func() { _ = srv.cmd.Process.Signal(syscall.SIGTERM); _ = srv.cmd.Wait() }()
	for deadline := time.Now().Add(60 * time.Second); len(sink.Delivered()) == 0; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the queued alert was not sent after the restart")
		}
	}
	if texts := sink.Texts(); !strings.Contains(texts[0], direct[:7]) {
		t.Errorf("delivered %q, want the direct push %s", texts[0], direct)
	}
}
