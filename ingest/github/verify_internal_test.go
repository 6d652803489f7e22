package github

import (
	"errors"
	"net/url"
	"testing"

	"github.com/changeproof/changeproof/internal/testkit/fixture"
)

// A wrong signature is ErrBadSignature whatever the content type, so the
// handler tells it from a malformed request without reading error text.
func TestBadSignatureIsTheSentinel(t *testing.T) {
	body := []byte(`{"zen":"Keep it logically awesome."}`)
	form := []byte("payload=" + url.QueryEscape(string(body)))
	for _, c := range []struct {
		ct   string
		body []byte
	}{{"application/json", body}, {"application/json; charset=utf-8", body}, {"application/x-www-form-urlencoded", form}} {
		if _, err := verify(c.ct, c.body, fixture.Sign("wrong", c.body), "secret"); !errors.Is(err, ErrBadSignature) {
			t.Errorf("%s, wrong secret: %v, want ErrBadSignature", c.ct, err)
		}
		got, err := verify(c.ct, c.body, fixture.Sign("secret", c.body), "secret")
		if err != nil || string(got) != string(body) {
			t.Errorf("%s, right secret: %q, %v", c.ct, got, err)
		}
	}
	if _, err := verify("application/json", body, "sha256=zz", "secret"); err == nil || errors.Is(err, ErrBadSignature) {
		t.Errorf("signature not hex: %v, want a malformed-request error", err)
	}
}
