package githubapp

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"testing"
)

// FuzzParseKey: whatever file app_private_key_file names, parseKey
// returns a key or an error and never panics. Seeds: a PKCS#1 key as
// GitHub generates it, the same as PKCS#8, a public key, and damage.
func FuzzParseKey(f *testing.F) {
	k, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		f.Fatal(err)
	}
	p1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
	p8der, _ := x509.MarshalPKCS8PrivateKey(k)
	pub, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	for _, seed := range [][]byte{p1, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8der}),
		pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), p1[:len(p1)/2], []byte("ghp_0123456789\n"), nil} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		key, err := parseKey(b)
		if (key == nil) == (err == nil) {
			t.Fatalf("key %v and error %v", key != nil, err)
		}
	})
}
