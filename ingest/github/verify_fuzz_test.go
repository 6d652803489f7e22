package github

import (
	"bytes"
	"errors"
	"testing"

	"github.com/changeproof/changeproof/internal/testkit/fixture"
)

// verify never panics; with the right signature it returns the body itself
// for a JSON content type, and with a wrong one it is always
// ErrBadSignature, whatever the content type says.
func FuzzVerify(f *testing.F) {
	for _, name := range fixture.Templates()[:3] {
		f.Add("application/json", fixture.Template(name))
	}
	f.Add("application/json; charset=utf-8", []byte(`{"zen":"x"}`))
	f.Add("application/x-www-form-urlencoded", []byte(`payload=%7B%22zen%22%3A%22x%22%7D`))
	f.Add("multipart/form-data; boundary=x", []byte("--x--"))
	f.Add(";;=", []byte(""))
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		const secret = "It's a Secret to Everybody"
		payload, err := verify(contentType, body, fixture.Sign(secret, body), secret)
		if errors.Is(err, ErrBadSignature) {
			t.Fatalf("right signature refused as bad: %q %q", contentType, body)
		}
		if err == nil && contentType == "application/json" && !bytes.Equal(payload, body) {
			t.Fatalf("JSON payload %q is not the body %q", payload, body)
		}
		if _, err := verify(contentType, body, fixture.Sign("wrong", body), secret); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("wrong signature: %v", err)
		}
	})
}
