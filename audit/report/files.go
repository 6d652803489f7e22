package report

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/changeproof/changeproof/audit"
	"github.com/changeproof/changeproof/internal/csvsafe"
)

// File is one file of a report: its name and bytes.
type File struct {
	Name string
	Data []byte
}

// Manifest is the report's manifest.json.
type Manifest struct {
	Format      string       `json:"format"`
	Period      audit.Period `json:"period"`
	ToolVersion string       `json:"tool_version"`
	GeneratedAt time.Time    `json:"generated_at"`
	// ChainHeads tie the report to the tamper-evident raw log.
	ChainHeads []ChainHead `json:"chain_heads"`
	// Reproducible names the files that are byte-identical for the same
	// data; the others differ only in their generation time.
	Reproducible []string `json:"reproducible"`
	// Files maps every other file to its hex SHA-256.
	Files map[string]string `json:"files"`
	// Signature names the key of manifest.json.sig; absent when unsigned.
	Signature *audit.SignatureInfo `json:"signature,omitempty"`
}

// Formats a report is written in.
const (
	FormatHTML  = "html"  // report.html, report.json, exceptions.csv
	FormatOSCAL = "oscal" // assessment-results.json
)

// Renderer renders the OSCAL assessment results of a report; set by the
// caller so that this package does not depend on the OSCAL model.
type Renderer func(r *Report) ([]byte, error)

// Files renders the report in format ("html" or "oscal"; oscal needs
// oscal set) and the manifest over it, signed when signer is set. The
// manifest comes last, then its signature.
func Files(r *Report, format string, oscal Renderer, signer audit.ManifestSigner) ([]File, error) {
	var files []File
	m := &Manifest{Format: FormatVersion, Period: r.Period, ToolVersion: r.ToolVersion, GeneratedAt: r.GeneratedAt,
		ChainHeads: r.ChainHeads, Reproducible: []string{}, Files: map[string]string{}}
	add := func(name string, data []byte, reproducible bool) {
		files = append(files, File{name, data})
		m.Files[name] = audit.FileHash(data)
		if reproducible {
			m.Reproducible = append(m.Reproducible, name)
		}
	}
	switch format {
	case FormatHTML, "":
		csvData, err := ExceptionsCSV(r)
		if err != nil {
			return nil, err
		}
		add("exceptions.csv", csvData, true)
		html, err := HTML(r)
		if err != nil {
			return nil, err
		}
		add("report.html", html, false)
		js, err := audit.EncodeJSON(r)
		if err != nil {
			return nil, err
		}
		add("report.json", js, false)
	case FormatOSCAL:
		if oscal == nil {
			return nil, errors.New("format oscal: no OSCAL renderer")
		}
		data, err := oscal(r)
		if err != nil {
			return nil, fmt.Errorf("assessment-results.json: %w", err)
		}
		add("assessment-results.json", data, false)
	default:
		return nil, fmt.Errorf("format %q: want html or oscal", format)
	}
	if signer != nil {
		info := signer.Signature()
		m.Signature = &info
	}
	mdata, err := audit.EncodeJSON(m)
	if err != nil {
		return nil, err
	}
	files = append(files, File{"manifest.json", mdata})
	if signer != nil {
		sig, err := signer.Sign(mdata)
		if err != nil {
			return nil, fmt.Errorf("sign manifest.json: %w", err)
		}
		files = append(files, File{audit.SignatureFile, sig})
	}
	return files, nil
}

// WriteDir writes files into dir, which must not exist or be empty; the
// manifest is written after the files it lists.
func WriteDir(dir string, files []File) error {
	if dir == "" {
		return errors.New("output directory: none given")
	}
	if names, err := os.ReadDir(dir); err == nil && len(names) > 0 {
		return fmt.Errorf("output directory %s: not empty (refusing to mix reports); give a new or empty directory", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f.Name), f.Data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// ExceptionsCSV renders exceptions.csv: RFC 4180, a header row, LF line
// endings, one row per exception in report order (control, then subject).
func ExceptionsCSV(r *Report) ([]byte, error) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	rows := [][]string{{"rule", "control", "subject", "repo", "occurred_at", "outcome", "status", "reason", "fail_reason",
		"waiver_reason", "waiver_approved_by", "waiver_expires", "remediation", "url"}}
	for _, e := range r.Exceptions {
		var wr, wb, we string
		if e.Waiver != nil {
			wr, wb = e.Waiver.Reason, e.Waiver.ApprovedBy
			if !e.Waiver.Expires.IsZero() {
				we = e.Waiver.Expires.UTC().Format(time.RFC3339)
			}
		}
		rows = append(rows, []string{e.Rule, e.Control, e.Subject, e.Repo, e.OccurredAt.Format(time.RFC3339Nano),
			string(e.Outcome), e.Status, e.Reason, e.FailReason, wr, wb, we, e.Remediation, e.URL})
	}
	for i, row := range rows {
		if i > 0 {
			row = csvsafe.Row(row)
		}
		if err := w.Write(row); err != nil {
			return nil, err
		}
	}
	w.Flush()
	return buf.Bytes(), w.Error()
}
