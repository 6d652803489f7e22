package config

import (
	"bytes"
	"os"
	"testing"

	"gopkg.in/yaml.v3"
)

// Decoding a configuration never panics; what it accepts, the strict
// decoder (unknown keys refused) accepts too, and Validate then answers
// without panicking. Seeds: the example configuration and documents the
// tests refuse.
func FuzzDecode(f *testing.F) {
	for _, path := range []string{examplePath, specPath} {
		if b, err := os.ReadFile(path); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{
		"", "---\n", "server:\n  addr: \":8080\"\n", "server:\n  read_timeout: 3d\n", "server: [1, 2]\n",
		"policy:\n  min_approvals: -1\n  emergency_review_window: 72h\n", "a: 1\n---\nb: 2\n", "server:\n  tokens:\n    - {name: ci, role: root}\n",
		"waivers:\n  - {rule: CM-2, subject: x, expires: 2026-12-31}\n", "scope:\n  services:\n    api: {repos: [acme/api]}\n",
		"anchors: &a {x: 1}\nserver: *a\n", "server:\n  addr: !!binary aGk=\n", "identities:\n  - name: a\n    terminated_at: 2026-02-30\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg := Default()
		if err := decodeBytes(data, "config: ", &cfg); err != nil {
			return
		}
		strict := Default()
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(&strict); err != nil && err.Error() != "EOF" {
			t.Fatalf("accepted %q, which the strict decoder refuses: %v", data, err)
		}
		_ = cfg.Validate()
	})
}
