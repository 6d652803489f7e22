package sign

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzVerify feeds Verify signatures it did not make: an export's
// manifest.json.sig is outside input to verify-export. Whatever the bytes,
// Verify does not panic, and it accepts nothing but a valid signature of
// the message (ErrBadSignature otherwise).
func FuzzVerify(f *testing.F) {
	// Seeds: a real ssh-keygen -Y sign signature (testdata/README.md) and
	// its pieces.
	sig, err := os.ReadFile(filepath.Join("testdata", "manifest.json.sig"))
	if err != nil {
		f.Fatal(err)
	}
	msg, err := os.ReadFile(filepath.Join("testdata", "manifest.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(msg, sig)
	f.Add(msg, sig[:len(sig)/2])
	f.Add([]byte{}, []byte(armorBegin+"\n"+armorEnd+"\n"))
	f.Add(msg, []byte(armorBegin+"\nU1NIU0lHAAAAAQ==\n"+armorEnd+"\n"))
	f.Fuzz(func(t *testing.T, m, s []byte) {
		pub, err := Verify(m, s)
		if err != nil && !errors.Is(err, ErrBadSignature) {
			t.Fatalf("Verify: %v, not ErrBadSignature", err)
		}
		if err == nil && pub == nil {
			t.Fatal("Verify accepted without a key")
		}
	})
}

// TestVerifyRecordedSignature checks the recorded ssh-keygen signature
// without needing ssh-keygen.
func TestVerifyRecordedSignature(t *testing.T) {
	sig, _ := os.ReadFile(filepath.Join("testdata", "manifest.json.sig"))
	msg, _ := os.ReadFile(filepath.Join("testdata", "manifest.json"))
	pub, err := Verify(msg, sig)
	if err != nil {
		t.Fatalf("recorded ssh-keygen signature: %v", err)
	}
	if got := fingerprintOf(pub); got != recordedFingerprint {
		t.Fatalf("signed by %s, want %s", got, recordedFingerprint)
	}
	if _, err := Verify(append(msg, ' '), sig); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("one byte more: %v", err)
	}
}

// recordedFingerprint is testdata/key.pub's fingerprint.
const recordedFingerprint = "SHA256:UBXFUlrQnuAjVU+IWe2yl1Ptm4UN+g0B6h+auUGdAPg"
