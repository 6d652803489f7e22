package deploy_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// ---------------------------------------------------------------------------
// Dockerfile

func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	df := string(b)
	// ARG defaults, to resolve the FROM lines.
	args := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^ARG (\w+)=(\S+)`).FindAllStringSubmatch(df, -1) {
		if _, seen := args[m[1]]; !seen {
			args[m[1]] = m[2]
		}
	}
	expand := func(s string) string {
		return regexp.MustCompile(`\$\{(\w+)\}`).ReplaceAllStringFunc(s, func(v string) string {
			return args[v[2:len(v)-1]]
		})
	}
	froms := regexp.MustCompile(`(?m)^FROM (\S+)(?: AS (\w+))?`).FindAllStringSubmatch(df, -1)
	if len(froms) < 2 {
		t.Fatalf("Dockerfile has %d stages, want a multi-stage build", len(froms))
	}
	if img := expand(froms[0][1]); !strings.HasPrefix(img, "golang:1.26") {
		t.Errorf("build stage FROM %s, want golang:1.26", img)
	}
	if img := expand(froms[len(froms)-1][1]); img != "debian:bookworm-slim" {
		t.Errorf("runtime stage FROM %s, want debian:bookworm-slim", img)
	}
	for _, want := range []string{
		"CGO_ENABLED=1",
		"-o /changeproof ./cmd/changeproof",
		"ARG WITH_EMBEDDED=false",
		`ENTRYPOINT ["changeproof"]`,
		"EXPOSE 8080",
		"ca-certificates",
		"curl",
		"/usr/local/lib/",
	} {
		if !strings.Contains(df, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	// The embedded engine is the version scripts/setup.sh installs.
	setup, err := os.ReadFile(filepath.Join(root, "scripts", "setup.sh"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^CHDB_VERSION=(\S+)`).FindSubmatch(setup)
	if m == nil {
		t.Fatal("scripts/setup.sh sets no CHDB_VERSION")
	}
	if args["CHDB_VERSION"] != string(m[1]) || !strings.Contains(df, `npm pack --silent "@chdb/lib-linux-x64-gnu@${CHDB_VERSION}"`) {
		t.Errorf("Dockerfile fetches chDB %q, scripts/setup.sh %q", args["CHDB_VERSION"], m[1])
	}
	// The last USER is not root.
	users := regexp.MustCompile(`(?m)^USER (\S+)`).FindAllStringSubmatch(df, -1)
	if len(users) == 0 {
		t.Fatal("Dockerfile has no USER: the image would run as root")
	}
	if u := users[len(users)-1][1]; u == "root" || strings.HasPrefix(u, "0") {
		t.Errorf("runtime USER %s is root", u)
	}

	ignore, err := os.ReadFile(filepath.Join(root, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	ig := strings.Split(string(ignore), "\n")
	for _, want := range []string{".git", "deploy/", "data/", "bin/"} {
		if !slices.Contains(ig, want) {
			t.Errorf(".dockerignore lacks %q", want)
		}
	}
	for _, copied := range regexp.MustCompile(`(?m)^COPY (?:--\S+ )*(\S+) `).FindAllStringSubmatch(df, -1) {
		if src := copied[1]; src != "." && slices.Contains(ig, src) {
			t.Errorf("Dockerfile copies %s, which .dockerignore excludes", src)
		}
	}
}
