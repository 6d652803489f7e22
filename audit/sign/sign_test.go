package sign

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// sshKeygen returns the path of ssh-keygen, skipping the test where it is
// absent (the signatures are meant for it: without it there is no
// independent verifier to test against).
func sshKeygen(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("ssh-keygen")
	if err != nil {
		t.Skip("ssh-keygen not installed (Debian: apt-get install openssh-client): the signature cannot be checked by the auditor's verifier")
	}
	return p
}

// newKey makes a fresh ed25519 key with ssh-keygen and loads it.
func newKey(t *testing.T, keygen string) (*Signer, string) {
	t.Helper()
	dir := t.TempDir()
	key := filepath.Join(dir, "signing_key")
	if out, err := exec.Command(keygen, "-q", "-t", "ed25519", "-N", "", "-C", "test", "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen -t ed25519: %v\n%s", err, out)
	}
	s, err := Load(key, "changeproof-test@example.com")
	if err != nil {
		t.Fatal(err)
	}
	return s, key
}

// keygenVerify runs the auditor's command; it returns ssh-keygen's error.
func keygenVerify(t *testing.T, keygen string, s *Signer, msg, sig []byte) error {
	t.Helper()
	dir := t.TempDir()
	allowed := filepath.Join(dir, "allowed_signers")
	sigPath := filepath.Join(dir, "manifest.json.sig")
	if err := os.WriteFile(allowed, []byte(s.AllowedSigners()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sigPath, sig, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(keygen, "-Y", "verify", "-f", allowed, "-I", s.Identity, "-n", Namespace, "-s", sigPath)
	cmd.Stdin = bytes.NewReader(msg)
	out, err := cmd.CombinedOutput()
	t.Logf("ssh-keygen -Y verify: %s", strings.TrimSpace(string(out)))
	return err
}

func TestSSHKeygenVerifiesOurSignature(t *testing.T) {
	keygen := sshKeygen(t)
	s, _ := newKey(t, keygen)
	msg := []byte("{\n  \"format\": \"changeproof-sample/1\"\n}\n")
	sig, err := s.Sign(msg)
	if err != nil {
		t.Fatal(err)
	}
	if err := keygenVerify(t, keygen, s, msg, sig); err != nil {
		t.Fatalf("ssh-keygen rejected a good signature: %v", err)
	}
	for _, i := range []int{0, len(msg) / 2, len(msg) - 1} {
		bad := bytes.Clone(msg)
		bad[i] ^= 1
		if err := keygenVerify(t, keygen, s, bad, sig); err == nil {
			t.Fatalf("ssh-keygen accepted the signature after byte %d changed", i)
		}
		if _, err := Verify(bad, sig); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("Verify after byte %d changed: %v, want ErrBadSignature", i, err)
		}
	}
	pub, err := Verify(msg, sig)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if got := s.Fingerprint(); got == "" || !strings.HasPrefix(got, "SHA256:") || got != fingerprintOf(pub) {
		t.Fatalf("fingerprint %q", got)
	}
}

// TestVerifyReadsSSHKeygenSignatures checks the other direction: what
// ssh-keygen -Y sign writes, Verify accepts, and refuses it under another
// namespace.
func TestVerifyReadsSSHKeygenSignatures(t *testing.T) {
	keygen := sshKeygen(t)
	s, key := newKey(t, keygen)
	dir := t.TempDir()
	msgPath := filepath.Join(dir, "manifest.json")
	msg := []byte("{\"files\": {}}\n")
	if err := os.WriteFile(msgPath, msg, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, ns := range []string{Namespace, "git"} {
		os.Remove(msgPath + ".sig")
		if out, err := exec.Command(keygen, "-Y", "sign", "-f", key, "-n", ns, msgPath).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen -Y sign: %v\n%s", err, out)
		}
		sig, err := os.ReadFile(msgPath + ".sig")
		if err != nil {
			t.Fatal(err)
		}
		pub, err := Verify(msg, sig)
		if ns == Namespace {
			if err != nil {
				t.Fatalf("Verify of ssh-keygen's signature: %v", err)
			}
			if fingerprintOf(pub) != s.Fingerprint() {
				t.Fatalf("signed by %s, want %s", fingerprintOf(pub), s.Fingerprint())
			}
		} else if !errors.Is(err, ErrBadSignature) || !strings.Contains(err.Error(), `namespace "git"`) {
			t.Fatalf("Verify of a %q signature: %v, want a namespace error", ns, err)
		}
	}
}

func TestLoadRefusesOtherKeys(t *testing.T) {
	keygen := sshKeygen(t)
	dir := t.TempDir()
	rsa := filepath.Join(dir, "rsa")
	if out, err := exec.Command(keygen, "-q", "-t", "ecdsa", "-N", "", "-f", rsa).CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if _, err := Load(rsa, "x"); !errors.Is(err, ErrNotEd25519) {
		t.Fatalf("Load(ecdsa) = %v, want ErrNotEd25519", err)
	}
	enc := filepath.Join(dir, "enc")
	if out, err := exec.Command(keygen, "-q", "-t", "ed25519", "-N", "secret", "-f", enc).CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if _, err := Load(enc, "x"); err == nil || !strings.Contains(err.Error(), "passphrase") {
		t.Fatalf("Load(encrypted) = %v, want a passphrase error", err)
	}
	if _, err := Load(filepath.Join(dir, "missing"), "x"); err == nil || !strings.Contains(err.Error(), "signing.key_file") {
		t.Fatalf("Load(missing) = %v, want an error naming signing.key_file", err)
	}
}

// writeExport writes files and a manifest listing them, signed by s when
// s is not nil, the way the exports do.
func writeExport(t *testing.T, s *Signer, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	m := map[string]any{}
	hashes := map[string]string{}
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256([]byte(body))
		hashes[name] = hex.EncodeToString(sum[:])
	}
	m["files"] = hashes
	if s != nil {
		info := s.Signature()
		m["signature"] = info
	}
	mdata, _ := json.MarshalIndent(m, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "manifest.json"), mdata, 0o644); err != nil {
		t.Fatal(err)
	}
	if s != nil {
		sig, err := s.Sign(mdata)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, SigFile), sig, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestVerifyDir(t *testing.T) {
	keygen := sshKeygen(t)
	s, _ := newKey(t, keygen)
	other, _ := newKey(t, keygen)
	files := map[string]string{"report.html": "<p>ok</p>\n", "evidence/1-a.json": "{}\n"}

	dir := writeExport(t, s, files)
	res, err := VerifyDir(dir, "")
	if err != nil || !res.Signed || res.Files != 2 {
		t.Fatalf("good export: %+v, %v", res, err)
	}
	if _, err := VerifyDir(dir, s.Fingerprint()); err != nil {
		t.Fatalf("trusted key: %v", err)
	}
	if _, err := VerifyDir(dir, other.Fingerprint()); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("another trusted key: %v, want ErrBadSignature", err)
	}
	mdata, _ := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err := keygenVerify(t, keygen, s, mdata, mustRead(t, filepath.Join(dir, SigFile))); err != nil {
		t.Fatalf("ssh-keygen rejected the export's signature: %v", err)
	}

	// A changed file, an added file, a changed manifest, a missing signature.
	cases := map[string]func(dir string){
		"file changed": func(dir string) { os.WriteFile(filepath.Join(dir, "report.html"), []byte("<p>ok!</p>\n"), 0o644) },
		"file added":   func(dir string) { os.WriteFile(filepath.Join(dir, "extra.csv"), nil, 0o644) },
		"file removed": func(dir string) { os.Remove(filepath.Join(dir, "evidence/1-a.json")) },
		"manifest changed": func(dir string) {
			p := filepath.Join(dir, "manifest.json")
			// Still valid JSON, one byte more: only the signature notices.
			b := bytes.Replace(mustRead(t, p), []byte(`"files":`), []byte(`"files" :`), 1)
			os.WriteFile(p, b, 0o644)
		},
		"signature removed": func(dir string) { os.Remove(filepath.Join(dir, SigFile)) },
	}
	for name, change := range cases {
		dir := writeExport(t, s, files)
		change(dir)
		if _, err := VerifyDir(dir, ""); err == nil {
			t.Errorf("%s: VerifyDir accepted it", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}

	// Unsigned: hashes checked, not signed; refused when a key is expected.
	dir = writeExport(t, nil, files)
	if res, err := VerifyDir(dir, ""); err != nil || res.Signed {
		t.Fatalf("unsigned export: %+v, %v", res, err)
	}
	if _, err := VerifyDir(dir, s.Fingerprint()); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("unsigned export with a trusted key: %v", err)
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
