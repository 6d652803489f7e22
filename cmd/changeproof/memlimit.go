package main

import (
	"os"
	"runtime/debug"
)

// goMemoryLimit is the Go heap's soft limit when GOMEMLIMIT is not set.
// The process holds the embedded engine beside Go, and the two together
// are to stay within 1.5 GiB (docs/performance.md): a first evaluation
// judges batches of repositories whose evidence and verdicts Go discards
// as fast as it reads the next, and with the default collector (heap
// doubles before a collection) the garbage alone held hundreds of MiB the
// engine then lacked. Near the limit Go collects more often instead; it
// is soft, so a heap that truly needs more still gets it.
const goMemoryLimit = 640 << 20

// limitGoMemory sets goMemoryLimit unless the operator chose one with
// GOMEMLIMIT (which the runtime has already applied).
func limitGoMemory() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(goMemoryLimit)
	}
}
