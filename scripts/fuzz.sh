#!/bin/sh
# Runs every Go fuzz target of changeproof (every `func FuzzX(f *testing.F)`
# in a _test.go file: the parsers of outside input) for a bounded time each
# (FUZZTIME, default 3s: about a minute of fuzzing for the 19 targets, plus
# compilation). A failure leaves the crashing input under the package's
# testdata/fuzz/<Target>/: commit it as a regression input with the fix, so
# that plain `go test` replays it from then on.
set -eu
FUZZTIME=${FUZZTIME:-3s}
cd "$(dirname "$0")/.."
grep -rH --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*(' . |
	sed -E 's|^(.*)/[^/]+_test\.go:func (Fuzz[A-Za-z0-9_]*)\(.*|\1 \2|' | sort -u |
	while read -r pkg target; do
		echo "== $pkg $target ($FUZZTIME)"
		# Minimising a new input costs many runs of a large one; a short
		# bound keeps the budget for fuzzing.
		go test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" -fuzzminimizetime 1s "$pkg"
	done
