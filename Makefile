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
# limit measured in the same run, in under 10 minutes on 2 cores. The
# generated organisation is a tenth of the full size by default (100k
# changes, 300k reviews, 10k deploys, 1M access events, 40 repositories);
# BENCH_FULL=1 generates the full size (1M changes, 3M reviews, 100k
# deploys, 10M access events, 200 repositories; about 4 GB in BENCH_DIR and
# 20-30 minutes more) and uploads AccessIngest/store-size into 10M stored
# access events instead of 1M. BENCH_ORG and ACCESS_HISTORY set either
# figure directly.
BENCH_DIR ?= $(CURDIR)/bench-data
ifeq ($(BENCH_FULL),1)
BENCH_ORG ?=
ACCESS_HISTORY ?= 10000000
else
BENCH_ORG ?= --changes 100000 --reviews 300000 --deploys 10000 --access 1000000 --repos 40
ACCESS_HISTORY ?= 1000000
endif
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
