# The README's two commands: `make demo` and `make test`. Both run setup.
.PHONY: setup build demo test vet bench

setup:
	./scripts/setup.sh

build:
	go build -o bin/changeproof ./cmd/changeproof

demo: setup
	./bin/changeproof demo

test: setup
	go vet ./...
	go test -count=1 ./...
