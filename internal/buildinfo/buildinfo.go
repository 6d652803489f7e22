// Package buildinfo says which build of changeproof is running: the
// version every command, export manifest and metric reports, read from the
// build information the Go toolchain embeds (module version, VCS revision).
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
)

// version overrides the module version for builds without VCS information
// (a container build context without .git):
//
//	go build -ldflags "-X github.com/changeproof/changeproof/internal/buildinfo.version=v1.4.0"
var version string

// Info identifies one build.
type Info struct {
	// Version is the release (v1.4.0), the pseudo-version the toolchain
	// derives from the commit (v0.0.0-20261207021337-efe30dabcdef, with
	// +dirty for uncommitted changes), "devel-<revision>" when only the
	// revision is known, or "devel" when nothing is.
	Version string
	// Revision is the VCS commit the binary was built from ("" unknown).
	Revision string
	// Modified is true when the work tree had uncommitted changes.
	Modified bool
	// GoVersion is the toolchain that built the binary.
	GoVersion string
}

// String is what `changeproof version` prints.
func (i Info) String() string {
	s := "changeproof " + i.Version
	if i.Revision != "" && !strings.Contains(i.Version, shortRev(i.Revision)) {
		s += " (revision " + i.Revision
		if i.Modified {
			s += ", modified"
		}
		s += ")"
	}
	return fmt.Sprintf("%s %s", s, i.GoVersion)
}

// Get returns this binary's build information (computed once).
func Get() Info { return get() }

var get = sync.OnceValue(func() Info {
	bi, ok := debug.ReadBuildInfo()
	return from(bi, ok, version)
})

// from derives Info from the embedded build information; override, when
// set, is the version.
func from(bi *debug.BuildInfo, ok bool, override string) Info {
	i := Info{GoVersion: runtime.Version()}
	if ok && bi != nil {
		if bi.GoVersion != "" {
			i.GoVersion = bi.GoVersion
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				i.Revision = s.Value
			case "vcs.modified":
				i.Modified = s.Value == "true"
			}
		}
		if v := bi.Main.Version; v != "" && v != "(devel)" {
			i.Version = v
		}
	}
	switch {
	case override != "":
		i.Version = override
	case i.Version != "":
	case i.Revision != "":
		i.Version = "devel-" + shortRev(i.Revision)
		if i.Modified {
			i.Version += "-dirty"
		}
	default:
		i.Version = "devel"
	}
	return i
}

func shortRev(r string) string { return r[:min(12, len(r))] }
