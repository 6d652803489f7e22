package sign

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"golang.org/x/crypto/ssh"

	"github.com/changeproof/changeproof/audit"
)

// manifestFile is the manifest every export and report carries.
const manifestFile = "manifest.json"

// DirResult is what VerifyDir found.
type DirResult struct {
	// Files is the number of files whose SHA-256 matched the manifest.
	Files int
	// Signed says whether manifest.json.sig was present and verified.
	Signed bool
	// Signature is the manifest's description of the signing key.
	Signature *audit.SignatureInfo
}

// ErrMismatch means an export's files are not those its manifest lists.
var ErrMismatch = errors.New("export does not match its manifest")

// VerifyDir checks an export or report directory: every file the
// manifest lists has that SHA-256, no other file is present (but
// manifest.json and manifest.json.sig), and, when the export is signed,
// manifest.json.sig is a valid changeproof signature of manifest.json by
// the key the manifest names. trusted, when not empty, is the fingerprint
// ("SHA256:...") the key must have; without it the signature proves the
// files were not altered since signing by the named key, and the caller
// still has to know that key. Every problem is reported, joined.
func VerifyDir(dir, trusted string) (*DirResult, error) {
	mdata, err := os.ReadFile(filepath.Join(dir, manifestFile))
	if err != nil {
		return nil, fmt.Errorf("read manifest: %w", err)
	}
	var m struct {
		Files     map[string]string    `json:"files"`
		Signature *audit.SignatureInfo `json:"signature"`
	}
	if err := json.Unmarshal(mdata, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", manifestFile, err)
	}
	if m.Files == nil {
		return nil, fmt.Errorf("%s: no \"files\" object: not a changeproof export", manifestFile)
	}
	res := &DirResult{Signature: m.Signature}
	var problems []error
	present := map[string]bool{}
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		present[filepath.ToSlash(rel)] = true
		return nil
	})
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(m.Files))
	for name := range m.Files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if !present[name] {
			problems = append(problems, fmt.Errorf("%w: %s is listed but missing", ErrMismatch, name))
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
		if err != nil {
			problems = append(problems, err)
			continue
		}
		sum := sha256.Sum256(data)
		if got := hex.EncodeToString(sum[:]); got != m.Files[name] {
			problems = append(problems, fmt.Errorf("%w: %s has SHA-256 %s, the manifest says %s", ErrMismatch, name, got, m.Files[name]))
			continue
		}
		res.Files++
	}
	var extra []string
	for name := range present {
		if _, ok := m.Files[name]; !ok && name != manifestFile && name != SigFile {
			extra = append(extra, name)
		}
	}
	sort.Strings(extra)
	for _, name := range extra {
		problems = append(problems, fmt.Errorf("%w: %s is not listed in the manifest", ErrMismatch, name))
	}

	sig, sigErr := os.ReadFile(filepath.Join(dir, SigFile))
	switch {
	case m.Signature == nil && sigErr == nil:
		problems = append(problems, fmt.Errorf("%w: %s is present but the manifest names no signing key", ErrBadSignature, SigFile))
	case m.Signature == nil:
		// unsigned export: the hashes are all there is to check
	case sigErr != nil:
		problems = append(problems, fmt.Errorf("%w: the manifest names key %s but %s is missing", ErrBadSignature, m.Signature.KeyFingerprint, SigFile))
	default:
		pub, err := Verify(mdata, sig)
		switch {
		case err != nil:
			problems = append(problems, fmt.Errorf("%s: %w", SigFile, err))
		case ssh.FingerprintSHA256(pub) != m.Signature.KeyFingerprint:
			problems = append(problems, fmt.Errorf("%w: signed by %s, the manifest names %s", ErrBadSignature, ssh.FingerprintSHA256(pub), m.Signature.KeyFingerprint))
		case trusted != "" && ssh.FingerprintSHA256(pub) != trusted:
			problems = append(problems, fmt.Errorf("%w: signed by %s, not the trusted key %s", ErrBadSignature, ssh.FingerprintSHA256(pub), trusted))
		default:
			res.Signed = true
		}
	}
	if trusted != "" && !res.Signed && m.Signature == nil {
		problems = append(problems, fmt.Errorf("%w: the export is not signed, but key %s was expected", ErrBadSignature, trusted))
	}
	return res, errors.Join(problems...)
}
