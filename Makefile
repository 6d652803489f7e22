# The README's two commands: `make demo` and `make test`. Both run setup.
.PHONY: setup build demo test bench fuzz

setup:
	./scripts/setup.sh

# The binary reports its version from the commit it was built from: the
# toolchain's VCS stamp (-buildvcs, when .git is a directory) and, for git
# worktrees and checkouts the toolchain does not stamp, `git describe`.
BIN ?= bin/changeproof
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null)
build:
	go build -buildvcs=auto -ldflags "-X github.com/changeproof/changeproof/internal/buildinfo.version=$(VERSION)" -o $(BIN) ./cmd/changeproof

demo: setup
	./bin/changeproof demo

test: setup
	go vet ./...
	go test -count=1 ./...

# Every fuzz target (the parsers of outside input), FUZZTIME (default 3s)
# each: about a minute of fuzzing in all. `go test` alone runs their seed
# corpora and committed regression inputs.
fuzz:
	./scripts/fuzz.sh

# Every performance figure of docs/performance.md, each next to its raw
# limit measured in the same run (under 10 minutes on 2 cores). BENCH_DIR
# holds the generated organisation (about 4 GB at the full size: 1M
# changes, 3M reviews, 100k deploys, 10M access events). BENCH_ORG may
# size it smaller (e.g. BENCH_ORG='--changes 100000 --reviews 300000
# --deploys 10000 --access 1000000 --repos 40'); ACCESS_HISTORY is how many
# stored events (with their verdicts) AccessIngest/store-size uploads into
# (default 1M; 10000000 for the full year of access logs, a minute more).
BENCH_DIR ?= $(CURDIR)/bench-data
BENCH_ORG ?=
ACCESS_HISTORY ?= 1000000
# Repositories of the backfill benchmark (docs/performance.md reports 1,000).
BACKFILL_REPOS ?= 50
bench: setup
	go test -run '^$$' -bench 'GitHubDeliveries' -benchtime 1x ./enrich
	go test -run '^$$' -bench 'Write' -benchtime 2s ./store
	go test -run '^$$' -bench 'Sample1M' -benchtime 2x ./api
	go test -run '^$$' -bench 'WebhookOpenLoop|WebhookAcceptRatio|KafkaToStore|AlertLatency' -benchtime 1x ./cmd/changeproof
	go test -run '^$$' -bench 'BackfillOrg' -benchtime 1x ./ingest/backfill -args -backfill.repos=$(BACKFILL_REPOS)
	go test -run '^$$' -bench 'WebhookAccept$$' -benchtime 4000x ./cmd/changeproof
	go test -run '^$$' -bench 'DeliveryToFinding' -benchtime 50x ./cmd/changeproof
	CHANGEPROOF_BENCH_ACCESS_HISTORY=$(ACCESS_HISTORY) go test -run '^$$' -bench 'AccessIngest' -benchtime 3x ./cmd/changeproof
	./bin/changeproof bench generate --force --data-dir $(BENCH_DIR) $(BENCH_ORG)
	./bin/changeproof bench rules --data-dir $(BENCH_DIR)
	./bin/changeproof bench memory --data-dir $(BENCH_DIR) --upload-mib 8
