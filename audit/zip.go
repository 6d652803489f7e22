package audit

import (
	"archive/zip"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// zipTime is every zip entry's modification time (the earliest MS-DOS
// date), so that the archive's bytes depend on the files alone.
var zipTime = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

// ExportZip draws the sample req describes and writes the export as a zip
// archive to w (the body of POST /v1/samples). Nothing is written when the
// draw fails. The archive is the one WriteZip makes of the directory Export
// writes: the same entries, paths sorted, fixed timestamps.
func ExportZip(ctx context.Context, src Source, req Request, w io.Writer) (*Manifest, error) {
	m, files, err := build(ctx, src, req)
	if err != nil {
		return nil, err
	}
	return m, writeZip(w, files)
}

// WriteZip writes the export in dir (every regular file under it) to w as
// a zip archive: entries in byte order of their "/"-separated paths, all
// dated 1980-01-01 00:00:00 UTC with mode 0644, deflated. The same files
// give the same bytes.
func WriteZip(w io.Writer, dir string) error {
	var files []file
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s: not a regular file", p)
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files = append(files, file{filepath.ToSlash(rel), data})
		return nil
	})
	if err != nil {
		return err
	}
	return writeZip(w, files)
}

func writeZip(w io.Writer, files []file) error {
	files = append([]file(nil), files...)
	sort.Slice(files, func(i, j int) bool { return files[i].path < files[j].path })
	zw := zip.NewWriter(w)
	for _, f := range files {
		fh := &zip.FileHeader{Name: f.path, Method: zip.Deflate, Modified: zipTime}
		fh.SetMode(0o644)
		fw, err := zw.CreateHeader(fh)
		if err != nil {
			return err
		}
		if _, err := fw.Write(f.data); err != nil {
			return err
		}
	}
	return zw.Close()
}
