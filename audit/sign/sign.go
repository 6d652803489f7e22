// Package sign makes and checks the SSH signatures that exports and reports
// carry (manifest.json.sig): the SSHSIG format of OpenSSH's
// PROTOCOL.sshsig, so that an auditor verifies them with nothing but
// ssh-keygen:
//
//	ssh-keygen -Y verify -f allowed_signers -I <identity> -n changeproof -s manifest.json.sig < manifest.json
//
// The key is an OpenSSH ed25519 private key (ssh-keygen -t ed25519); the
// encoding and parsing of keys and of the inner signature are
// golang.org/x/crypto/ssh's, the envelope around them is here.
package sign

import (
	"bytes"
	"crypto/rand"
	"crypto/sha512"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/changeproof/changeproof/audit"
)

// Namespace is the SSHSIG namespace of every changeproof signature; the
// verifier passes it as ssh-keygen's -n. A signature made for another
// purpose (git commits, files) under the same key does not verify here.
const Namespace = "changeproof"

// SigFile is the name of a signature next to what it signs.
const SigFile = "manifest.json.sig"

// hashAlg is the message digest SSHSIG signs; sha512 is what ssh-keygen
// uses by default.
const hashAlg = "sha512"

const (
	magic      = "SSHSIG"
	sigVersion = 1
	armorBegin = "-----BEGIN SSH SIGNATURE-----"
	armorEnd   = "-----END SSH SIGNATURE-----"
	armorWidth = 70 // ssh-keygen wraps the base64 at 70 columns
)

// Signer signs manifests with one ed25519 key. Safe for concurrent use.
type Signer struct {
	key ssh.Signer
	// Identity is the principal auditors list in allowed_signers.
	Identity string
}

// ErrNotEd25519 means the key file holds a key of another type.
var ErrNotEd25519 = errors.New("not an ed25519 key (make one with ssh-keygen -t ed25519)")

// Load reads an unencrypted OpenSSH ed25519 private key from path.
func Load(path, identity string) (*Signer, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("signing.key_file: %w", err)
	}
	s, err := New(pem, identity)
	if err != nil {
		return nil, fmt.Errorf("signing.key_file %s: %w", path, err)
	}
	return s, nil
}

// New parses an unencrypted OpenSSH ed25519 private key.
func New(pemBytes []byte, identity string) (*Signer, error) {
	k, err := ssh.ParsePrivateKey(pemBytes)
	if err != nil {
		var pp *ssh.PassphraseMissingError
		if errors.As(err, &pp) {
			return nil, errors.New("the key is protected by a passphrase; a service cannot type it: use a key without one, readable only by the service")
		}
		return nil, err
	}
	if k.PublicKey().Type() != ssh.KeyAlgoED25519 {
		return nil, fmt.Errorf("%s key: %w", k.PublicKey().Type(), ErrNotEd25519)
	}
	return &Signer{key: k, Identity: identity}, nil
}

// Fingerprint is the key's SHA-256 fingerprint as ssh-keygen -l prints it
// ("SHA256:...").
func (s *Signer) Fingerprint() string { return ssh.FingerprintSHA256(s.key.PublicKey()) }

// PublicKey is the public key in authorized_keys form, without a newline.
func (s *Signer) PublicKey() string {
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(s.key.PublicKey())))
}

// AllowedSigners is the line an auditor puts in an allowed_signers file
// to trust this key for changeproof signatures.
func (s *Signer) AllowedSigners() string {
	return fmt.Sprintf("%s namespaces=%q %s", s.Identity, Namespace, s.PublicKey())
}

// Sign returns the armored SSHSIG signature of msg (the bytes of
// manifest.json), ending in a newline.
func (s *Signer) Sign(msg []byte) ([]byte, error) {
	sig, err := s.key.Sign(rand.Reader, signedData(msg))
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	var blob bytes.Buffer
	blob.WriteString(magic)
	binary.Write(&blob, binary.BigEndian, uint32(sigVersion))
	putString(&blob, s.key.PublicKey().Marshal())
	putString(&blob, []byte(Namespace))
	putString(&blob, nil) // reserved
	putString(&blob, []byte(hashAlg))
	putString(&blob, ssh.Marshal(sig))
	return armor(blob.Bytes()), nil
}

// signedData is what the key signs: the preamble, namespace, reserved
// field, hash algorithm and the message's digest.
func signedData(msg []byte) []byte {
	h := sha512.Sum512(msg)
	var b bytes.Buffer
	b.WriteString(magic)
	putString(&b, []byte(Namespace))
	putString(&b, nil)
	putString(&b, []byte(hashAlg))
	putString(&b, h[:])
	return b.Bytes()
}

func putString(b *bytes.Buffer, s []byte) {
	binary.Write(b, binary.BigEndian, uint32(len(s)))
	b.Write(s)
}

func armor(blob []byte) []byte {
	enc := base64.StdEncoding.EncodeToString(blob)
	var b bytes.Buffer
	b.WriteString(armorBegin + "\n")
	for len(enc) > armorWidth {
		b.WriteString(enc[:armorWidth] + "\n")
		enc = enc[armorWidth:]
	}
	b.WriteString(enc + "\n")
	b.WriteString(armorEnd + "\n")
	return b.Bytes()
}

// ErrBadSignature means a signature does not verify: malformed, made for
// another namespace, or not over these bytes.
var ErrBadSignature = errors.New("bad signature")

// Verify checks an armored SSHSIG signature of msg in the changeproof
// namespace and returns the public key that made it. Who that key
// belongs to is the caller's question (compare its fingerprint with a
// trusted one).
func Verify(msg, armored []byte) (ssh.PublicKey, error) {
	blob, err := unarmor(armored)
	if err != nil {
		return nil, err
	}
	r := reader{b: blob}
	if string(r.bytes(len(magic))) != magic {
		return nil, fmt.Errorf("%w: no SSHSIG preamble", ErrBadSignature)
	}
	if v := r.uint32(); v != sigVersion {
		return nil, fmt.Errorf("%w: version %d, want %d", ErrBadSignature, v, sigVersion)
	}
	pubBytes, ns, _, alg, sigBytes := r.string(), r.string(), r.string(), r.string(), r.string()
	if r.err != nil || len(r.b) != 0 {
		return nil, fmt.Errorf("%w: truncated or trailing data", ErrBadSignature)
	}
	if string(ns) != Namespace {
		return nil, fmt.Errorf("%w: namespace %q, want %q", ErrBadSignature, ns, Namespace)
	}
	if string(alg) != hashAlg {
		return nil, fmt.Errorf("%w: hash algorithm %q, want %q", ErrBadSignature, alg, hashAlg)
	}
	pub, err := ssh.ParsePublicKey(pubBytes)
	if err != nil {
		return nil, fmt.Errorf("%w: public key: %v", ErrBadSignature, err)
	}
	var sig ssh.Signature
	if err := ssh.Unmarshal(sigBytes, &sig); err != nil {
		return nil, fmt.Errorf("%w: signature: %v", ErrBadSignature, err)
	}
	if err := pub.Verify(signedData(msg), &sig); err != nil {
		return nil, fmt.Errorf("%w: does not match the signed bytes (altered after signing?)", ErrBadSignature)
	}
	return pub, nil
}

func unarmor(a []byte) ([]byte, error) {
	s := strings.TrimSpace(string(a))
	// The length check keeps a text where the markers overlap from
	// slicing out of range (found by FuzzVerify).
	if len(s) < len(armorBegin)+len(armorEnd) || !strings.HasPrefix(s, armorBegin) || !strings.HasSuffix(s, armorEnd) {
		return nil, fmt.Errorf("%w: not an armored SSH signature", ErrBadSignature)
	}
	body := strings.Join(strings.Fields(s[len(armorBegin):len(s)-len(armorEnd)]), "")
	blob, err := base64.StdEncoding.DecodeString(body)
	if err != nil {
		return nil, fmt.Errorf("%w: base64: %v", ErrBadSignature, err)
	}
	return blob, nil
}

// reader reads SSH wire fields; the first short read sets err.
type reader struct {
	b   []byte
	err error
}

func (r *reader) bytes(n int) []byte {
	if r.err != nil || n < 0 || n > len(r.b) {
		r.err = errors.New("short")
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *reader) uint32() uint32 {
	b := r.bytes(4)
	if b == nil {
		return 0
	}
	return binary.BigEndian.Uint32(b)
}

func (r *reader) string() []byte {
	n := r.uint32()
	if r.err != nil {
		return nil
	}
	return r.bytes(int(n))
}

// Signature implements audit.ManifestSigner: the manifest's description of
// this key.
func (s *Signer) Signature() audit.SignatureInfo {
	return audit.SignatureInfo{File: SigFile, Format: "sshsig", Namespace: Namespace, Identity: s.Identity,
		KeyFingerprint: s.Fingerprint(), PublicKey: s.PublicKey()}
}

var _ audit.ManifestSigner = (*Signer)(nil)

func fingerprintOf(k ssh.PublicKey) string { return ssh.FingerprintSHA256(k) }
