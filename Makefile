# The README's two commands: `make demo` and `make test`. Both run setup.
.PHONY: setup build demo test bench

setup:
	./scripts/setup.sh

build:
	go build -o bin/changeproof ./cmd/changeproof

demo: setup
	./bin/changeproof demo

test: setup
	go vet ./...
	go test -count=1 ./...

bench: setup
	go test -run '^$$' -bench . -benchtime 3s ./store ./cmd/changeproof
