#!/bin/sh
# Runs every Go fuzz target of changeproof's parsers of outside input for a
# bounded time each (FUZZTIME, default 5s: about a minute in total, plus
# compilation). A failure leaves the crashing input under the package's
# testdata/fuzz/<Target>/: commit it as a regression input with the fix, so
# that plain `go test` runs it from then on.
set -eu
FUZZTIME=${FUZZTIME:-5s}
cd "$(dirname "$0")/.."
# package target
targets="
./internal/jsonscan FuzzValid
./internal/jsonscan FuzzReader
./enrich FuzzFastDecoders
./enrich FuzzParseGitHub
./ingest/github FuzzVerify
./ingest/deploy FuzzParse
./ingest/deploy FuzzRead
./ingest/spool FuzzSegment
./config FuzzDecode
./internal/csvsafe FuzzCellRoundTrip
"
# The access formats' targets live in their package.
for t in $(go test -list '^Fuzz' ./ingest/access 2>/dev/null | grep '^Fuzz' || true); do
	targets="$targets
./ingest/access $t"
done
echo "$targets" | while read -r pkg target; do
	[ -n "$pkg" ] || continue
	echo "== $pkg $target ($FUZZTIME)"
	# Minimising a new input costs many runs of a large one; a short bound
	# keeps the budget for fuzzing.
	go test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" -fuzzminimizetime 1s "$pkg"
done
