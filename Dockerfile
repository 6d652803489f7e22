# syntax=docker/dockerfile:1
#
# changeproof container image.
#
#   docker build -t changeproof .                              # server mode (Kafka + ClickHouse server)
#   docker build -t changeproof:embedded --build-arg WITH_EMBEDDED=true .   # also the embedded engine
#
# The binary is built with cgo because the embedded mode loads libchdb.so with
# dlopen at run time. Without that library the binary still runs everything
# that talks to a ClickHouse server (clickhouse.addr set), which is what the
# distributed mode (docker-compose.yml, deploy/kubernetes) uses, so the default
# image leaves the 170 MB library out. Build with WITH_EMBEDDED=true only for
# an image that runs the embedded mode (no clickhouse.addr).

# Debian release of both stages. The binary links against glibc dynamically
# (cgo), so the build stage's glibc must not be newer than the runtime's:
# build on the same release the runtime stage uses.
ARG DEBIAN_RELEASE=bookworm
ARG GO_VERSION=1.26

# ---------------------------------------------------------------------------
# build: the changeproof binary.
FROM golang:${GO_VERSION}-${DEBIAN_RELEASE} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
# The build context has no .git (.dockerignore), so the version comes from
# here; a build from a git checkout (make build) reads it from the commit.
ARG VERSION=devel
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=1 go build -trimpath -ldflags "-s -w -X github.com/changeproof/changeproof/internal/buildinfo.version=${VERSION}" \
        -o /changeproof ./cmd/changeproof

# ---------------------------------------------------------------------------
# chdb: the embedded engine, only when WITH_EMBEDDED=true. The stage always
# produces /out (empty when false), so the runtime stage can copy it either way.
FROM debian:${DEBIAN_RELEASE}-slim AS chdb
ARG WITH_EMBEDDED=false
ARG CHDB_VERSION=26.5.3
ARG TARGETARCH
RUN set -eu; mkdir -p /out; \
    if [ "${WITH_EMBEDDED}" != "true" ]; then \
        echo "WITH_EMBEDDED=${WITH_EMBEDDED}: no embedded engine (server mode only)"; exit 0; \
    fi; \
    if [ "${TARGETARCH:-amd64}" != "amd64" ]; then \
        echo "WITH_EMBEDDED=true needs linux/amd64 (@chdb/lib-linux-x64-gnu), not ${TARGETARCH}" >&2; exit 1; \
    fi; \
    apt-get update; \
    apt-get install -y --no-install-recommends ca-certificates nodejs npm; \
    cd /tmp; \
    npm pack --silent "@chdb/lib-linux-x64-gnu@${CHDB_VERSION}"; \
    tar -xzf chdb-lib-linux-x64-gnu-*.tgz package/libchdb.so; \
    mv package/libchdb.so /out/libchdb.so; \
    rm -rf /tmp/* /var/lib/apt/lists/*

# ---------------------------------------------------------------------------
# runtime
FROM debian:${DEBIAN_RELEASE}-slim
# ca-certificates: TLS to GitHub, Slack, Kafka and ClickHouse.
# curl: the HEALTHCHECK below and the compose healthchecks.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/*
# A fixed, non-root uid/gid (10001): Kubernetes' runAsNonRoot needs a numeric
# user, and mounted secret files must be readable by it.
RUN groupadd --system --gid 10001 changeproof \
    && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/changeproof \
        --shell /usr/sbin/nologin changeproof \
    && mkdir -p /etc/changeproof /var/lib/changeproof \
    && chown 10001:10001 /var/lib/changeproof
COPY --from=build /changeproof /usr/local/bin/changeproof
# libchdb.so when WITH_EMBEDDED=true; nothing otherwise. /usr/local/lib is on
# the binary's search path for the library.
COPY --from=chdb /out/ /usr/local/lib/
# Every key at its default: the image runs as is (embedded mode, configured by
# CHANGEPROOF_* variables); mount your own file over it.
COPY changeproof.example.yaml /etc/changeproof/changeproof.yaml
USER 10001:10001
WORKDIR /var/lib/changeproof
EXPOSE 8080
# Healthy = ready: the process can accept and durably store events.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD curl -fsS -o /dev/null http://127.0.0.1:8080/readyz || exit 1
ENTRYPOINT ["changeproof"]
CMD ["serve", "--config", "/etc/changeproof/changeproof.yaml", "--data-dir", "/var/lib/changeproof/data"]
