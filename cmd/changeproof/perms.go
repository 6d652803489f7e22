package main

import (
	"fmt"
	"os"

	"go.uber.org/zap"
)

// secureDataDir creates the data dir 0700, or tightens an existing one to
// 0700: it holds the evidence store and the spool, which only this user
// should read or change.
func secureDataDir(dir string, log *zap.Logger) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("data dir %s is %#o, readable by others, and cannot be tightened to 0700: %w", dir, perm, err)
		}
		log.Warn("data dir was readable by others; tightened to 0700", zap.String("data_dir", dir), zap.String("was", fmt.Sprintf("%#o", perm)))
	}
	return nil
}

// warnReadableConfig warns when the configuration file, which may hold
// tokens and secrets, can be read by other users.
func warnReadableConfig(path string, log *zap.Logger) {
	if path == "" {
		return
	}
	fi, err := os.Stat(path)
	if err != nil {
		return
	}
	if perm := fi.Mode().Perm(); perm&0o044 != 0 {
		log.Warn("the configuration file is readable by other users and may hold secrets (tokens, webhook secret); chmod 600 it or move the secrets to *_file keys",
			zap.String("config", path), zap.String("mode", fmt.Sprintf("%#o", perm)))
	}
}
