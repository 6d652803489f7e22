package audit

import (
	"strings"
	"testing"
)

func TestSafeName(t *testing.T) {
	cases := map[string]string{
		"acme/api#12":              "acme_api_12",
		"acme/api@1a2b3c":          "acme_api_1a2b3c",
		"svc@production@dep-1.2_x": "svc_production_dep-1.2_x",
		"k8s-prod:5f0c/9d":         "k8s-prod_5f0c_9d",
		"ünï ☃":                    "_n___", // one "_" per code point, not per byte
		"../../etc/passwd":         ".._.._etc_passwd",
		"":                         "",
	}
	for in, want := range cases {
		if got := SafeName(in); got != want {
			t.Errorf("SafeName(%q) = %q, want %q", in, got, want)
		}
	}
	long := strings.Repeat("a", 300)
	if got := SafeName(long); len(got) != 120 {
		t.Errorf("SafeName of 300 characters has %d, want 120", len(got))
	}
	if got := SafeName(strings.Repeat("☃", 300)); got != strings.Repeat("_", 120) {
		t.Errorf("SafeName of 300 snowmen = %q", got)
	}
}

func TestEvidencePath(t *testing.T) {
	if got := EvidencePath(3, "acme/api#12"); got != "evidence/3-acme_api_12.json" {
		t.Errorf("EvidencePath = %q", got)
	}
	// Subjects that map to one name still get distinct files.
	if EvidencePath(1, "a/b") == EvidencePath(2, "a_b") {
		t.Error("numbers do not keep colliding names apart")
	}
}
