package audit

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"sort"
	"testing"
)

func TestZipDeterministic(t *testing.T) {
	from, to := period()
	req := Request{From: from, To: to, Size: 8, Seed: "zip", Now: fixedNow(t0), ToolVersion: "v", ChainHead: "h"}
	var a, b bytes.Buffer
	m, err := ExportZip(context.Background(), &fakeSource{members: changes(50)}, req, &a)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ExportZip(context.Background(), &fakeSource{members: changes(50)}, req, &b); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("two zips of the same data, seed and time differ")
	}

	// The zip of the exported directory is the same archive.
	dir, _ := export(t, &fakeSource{members: changes(50)}, req)
	var c bytes.Buffer
	if err := WriteZip(&c, dir); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), c.Bytes()) {
		t.Fatal("WriteZip of the exported directory differs from ExportZip")
	}

	zr, err := zip.NewReader(bytes.NewReader(a.Bytes()), int64(a.Len()))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
		if !f.Modified.Equal(zipTime) {
			t.Errorf("%s dated %v", f.Name, f.Modified)
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(rc)
		rc.Close()
		if f.Name != "manifest.json" && FileHash(data) != m.Files[f.Name] {
			t.Errorf("%s in the zip does not match the manifest's hash", f.Name)
		}
	}
	if !sort.StringsAreSorted(names) || len(names) != len(m.Files)+1 {
		t.Errorf("entries %v", names)
	}
}

func TestExportZipFailureWritesNothing(t *testing.T) {
	var buf bytes.Buffer
	_, err := ExportZip(context.Background(), &fakeSource{}, Request{Size: 1}, &buf)
	if err == nil || buf.Len() != 0 {
		t.Fatalf("err %v, %d bytes written", err, buf.Len())
	}
}
