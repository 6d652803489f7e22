package config

import (
	"strings"
	"testing"
)

func TestSigningValidation(t *testing.T) {
	c := Default()
	if c.Signing.Identity != "changeproof" || c.Signing.KeyFile != "" {
		t.Fatalf("default signing = %+v", c.Signing)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	for identity, want := range map[string]string{
		"auditors@acme.example": "",
		"two words":             "signing.identity",
		`q"uote`:                "signing.identity",
		"a,b":                   "signing.identity",
	} {
		c := Default()
		c.Signing.KeyFile, c.Signing.Identity = "/etc/changeproof/signing_key", identity
		err := c.Validate()
		if want == "" && err != nil {
			t.Errorf("identity %q: %v", identity, err)
		}
		if want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
			t.Errorf("identity %q: %v, want an error naming %s", identity, err, want)
		}
	}
	c = Default()
	c.Signing.KeyFile, c.Signing.Identity = "/etc/changeproof/signing_key", " "
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "signing.identity") {
		t.Errorf("blank identity with a key: %v", err)
	}
}
