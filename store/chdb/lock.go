package chdb

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// dirLock holds the data directory's lock for the life of the process: the
// engine, once started, stays for the process.
var dirLock *os.File

// lockDataDir takes an exclusive lock on dir, so that a second process
// opening the same data directory fails at once with a message naming the
// holder, instead of two engines writing the same parts.
func lockDataDir(dir string) error {
	f, err := os.OpenFile(filepath.Join(dir, "changeproof.lock"), os.O_CREATE|os.O_RDWR, 0o640)
	if err != nil {
		return fmt.Errorf("lock data dir: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(f.Name())
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return fmt.Errorf("data dir %s is in use by another process (pid %s): the embedded engine serves one process per data dir; "+
				"stop it, query it with --server, or use another --data-dir", dir, strings.TrimSpace(string(holder)))
		}
		return fmt.Errorf("lock data dir: %w", err)
	}
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	dirLock = f
	return nil
}
