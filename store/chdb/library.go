package chdb

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Version is the libchdb.so release changeproof is built and tested against
// (npm package @chdb/lib-linux-x64-gnu).
const Version = "26.5.3"

// CacheDir is where `make setup` puts libchdb.so: $CHANGEPROOF_CACHE_DIR,
// else the user cache directory (~/.cache/changeproof).
func CacheDir() string {
	if d := os.Getenv("CHANGEPROOF_CACHE_DIR"); d != "" {
		return d
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "changeproof")
	}
	return filepath.Join(os.TempDir(), "changeproof-cache")
}

// Candidates lists where the library is looked for, in order:
// $CHANGEPROOF_CHDB_LIB, the cache, then system library directories.
func Candidates() []string {
	var c []string
	if p := os.Getenv("CHANGEPROOF_CHDB_LIB"); p != "" {
		c = append(c, p)
	}
	c = append(c,
		filepath.Join(CacheDir(), "chdb", Version, "libchdb.so"),
		"/usr/local/lib/libchdb.so",
		"/usr/lib/libchdb.so",
		"/usr/lib/x86_64-linux-gnu/libchdb.so",
	)
	return c
}

// ErrNoLibrary means libchdb.so was found nowhere; the message says how to
// get it.
var ErrNoLibrary = errors.New("libchdb.so not found")

// FindLibrary returns the first candidate that exists.
func FindLibrary() (string, error) {
	cands := Candidates()
	if p := os.Getenv("CHANGEPROOF_CHDB_LIB"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("CHANGEPROOF_CHDB_LIB=%s: %w", p, err)
		}
		return p, nil
	}
	for _, p := range cands {
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w (looked in %s): run `make setup` to fetch it, or set CHANGEPROOF_CHDB_LIB to its path, or set clickhouse.addr to use a ClickHouse server",
		ErrNoLibrary, strings.Join(cands, ", "))
}
