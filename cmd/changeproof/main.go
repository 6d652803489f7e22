// Command changeproof proves change management for SOC 2: it receives
// GitHub webhooks, stores them in ClickHouse (embedded or server), evaluates
// the change-management controls, and answers auditors' questions.
//
// The command tree is built in cli.go; each command's builder sits next
// to its run function, and docs/cli.md is generated from the tree.
package main

import (
	"os"

	"github.com/changeproof/changeproof/internal/buildinfo"
)

// Version is this build's version (module version or VCS revision), as
// `version`, export manifests and changeproof_build_info report it.
var Version = buildinfo.Get().Version

func main() {
	limitGoMemory()
	os.Exit(execute(os.Args[1:], os.Stdout, os.Stderr))
}
