// Package deploy_test checks the deployment assets without running them
// (no Docker or Kubernetes needed): docker-compose.yml, the Dockerfile, the
// Kubernetes manifests and the ClickHouse cluster example parse, are wired
// to each other consistently, and every changeproof configuration among
// them loads through the real config package, secrets and all.
package deploy_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// root is the repository root; tests run in deploy/.
const root = ".."

// allRoles are the values of serve --roles.
var allRoles = []string{"receiver", "pipeline", "rules", "api"}

// ---------------------------------------------------------------------------
// deploy/README.md

// TestReadmeNamesEveryAsset keeps the README's list of files in step.
func TestReadmeNamesEveryAsset(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	var assets []string
	for _, pattern := range []string{"*", "kubernetes/*", "compose/*", "clickhouse-cluster/*"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		assets = append(assets, m...)
	}
	for _, a := range assets {
		base := filepath.Base(a)
		if base == "README.md" || strings.HasPrefix(base, ".") || strings.HasSuffix(base, "_test.go") {
			continue
		}
		if !strings.Contains(readme, base) {
			t.Errorf("deploy/README.md does not mention %s", a)
		}
	}
	for _, top := range []string{"docker-compose.yml", "Dockerfile", ".dockerignore"} {
		if !strings.Contains(readme, top) {
			t.Errorf("deploy/README.md does not mention %s", top)
		}
	}
}
