package audit

// ManifestSigner signs a manifest's bytes. Implementations must be safe
// for concurrent use; Sign returns the detached signature file's bytes.
type ManifestSigner interface {
	Sign(manifest []byte) ([]byte, error)
	// Signature describes the key for the manifest, before signing.
	Signature() SignatureInfo
}

// SignatureInfo is the manifest's "signature" object: which key signs
// manifest.json (in manifest.json.sig) and how to check it.
type SignatureInfo struct {
	// File is the detached signature, "manifest.json.sig".
	File string `json:"file"`
	// Format is "sshsig" (OpenSSH's SSHSIG, ssh-keygen -Y sign).
	Format string `json:"format"`
	// Namespace is the SSHSIG namespace, ssh-keygen's -n.
	Namespace string `json:"namespace"`
	// Identity is the principal the key is listed under in allowed_signers,
	// ssh-keygen's -I.
	Identity string `json:"identity"`
	// KeyFingerprint is the key's SHA-256 fingerprint (ssh-keygen -l).
	KeyFingerprint string `json:"key_fingerprint"`
	// PublicKey is the key in authorized_keys form.
	PublicKey string `json:"public_key"`
}

// SignatureFile is the name of the detached signature of manifest.json.
const SignatureFile = "manifest.json.sig"
