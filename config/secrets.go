package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"reflect"
	"slices"
	"strings"
)

// Secrets are the fields tagged secret:"true": github.webhook_secret,
// github.token, kafka.sasl.password, clickhouse.password,
// alerts.slack.webhook_url, alerts.slack.token and server.tokens[].token.
// Each has a <key>_file sibling so that it can be mounted as a file
// (Docker and Kubernetes secrets) instead of written into the
// configuration, and each is hidden by Redacted.

// Redaction replaces a secret in a Redacted configuration.
const Redaction = "REDACTED"

// resolveSecrets reads every secret given as a file. The _file keys keep
// their paths, so that logs can say where a secret came from.
func resolveSecrets(cfg *Config) error {
	return errors.Join(visitSecrets(reflect.ValueOf(cfg).Elem(), "", false, readSecret)...)
}

func readSecret(key string, secret, file reflect.Value) error {
	path := file.String()
	if path == "" {
		return nil
	}
	if secret.String() != "" {
		return fmt.Errorf("%s and %s are both set; set only one", key, fileKey(key))
	}
	// Relative paths are relative to the working directory, as for any
	// other file the program is given.
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return fmt.Errorf("%s: cannot read %q: %v", fileKey(key), path, err)
	}
	// Editors and `echo` end files with a newline that is never part of
	// the secret.
	s := strings.TrimRight(string(data), "\r\n")
	if s == "" {
		return fmt.Errorf("%s: %q is empty", fileKey(key), path)
	}
	secret.SetString(s)
	return nil
}

// Redacted returns a copy of c with every secret that is set replaced by
// Redaction, for logging the effective configuration. c is not modified.
// Unset secrets stay empty, so the log still shows which ones are missing.
func (c Config) Redacted() Config {
	visitSecrets(reflect.ValueOf(&c).Elem(), "", true, func(_ string, secret, _ reflect.Value) error {
		if secret.String() != "" {
			secret.SetString(Redaction)
		}
		return nil
	})
	return c
}

// visitSecrets calls fn with every secret field under v, its dotted path
// and its _file sibling. v must be settable. With clone set, every slice
// and map on the way is copied first, so that fn can write without
// reaching into a Config that shares them.
func visitSecrets(v reflect.Value, path string, clone bool, fn func(key string, secret, file reflect.Value) error) []error {
	var errs []error
	switch shapeOf(v.Type()) {
	case shapeSection:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			k := keyOf(f)
			if k == "" {
				continue
			}
			if isSecret(f) {
				ff, ok := fieldByKey(t, fileKey(k))
				if !ok {
					panic(fmt.Sprintf("config: secret %s has no %s field", join(path, k), fileKey(k)))
				}
				if err := fn(join(path, k), v.Field(i), v.FieldByIndex(ff.Index)); err != nil {
					errs = append(errs, err)
				}
				continue
			}
			errs = append(errs, visitSecrets(v.Field(i), join(path, k), clone, fn)...)
		}
	case shapeRecords:
		if clone && !v.IsNil() {
			c := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
			reflect.Copy(c, v)
			v.Set(c)
		}
		for i := range v.Len() {
			errs = append(errs, visitSecrets(v.Index(i), fmt.Sprintf("%s[%d]", path, i), clone, fn)...)
		}
	case shapeMap:
		if v.IsNil() {
			break
		}
		if clone {
			c := reflect.MakeMapWithSize(v.Type(), v.Len())
			for it := v.MapRange(); it.Next(); {
				c.SetMapIndex(it.Key(), it.Value())
			}
			v.Set(c)
		}
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
		for _, k := range keys {
			e := reflect.New(v.Type().Elem()).Elem()
			e.Set(v.MapIndex(k))
			errs = append(errs, visitSecrets(e, join(path, k.String()), clone, fn)...)
			v.SetMapIndex(k, e)
		}
	}
	return errs
}
