package api

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/changeproof/changeproof/audit"
	"github.com/changeproof/changeproof/audit/oscal"
	"github.com/changeproof/changeproof/audit/report"
	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/rules"
	"github.com/changeproof/changeproof/store"
)

// Reporter makes the period report (package report) from the findings the
// API serves, so that its numbers are GET /v1/findings's for the same
// period. Safe for concurrent use.
type Reporter struct {
	Service *Service
	// System describes the system in scope and the policy in force.
	System func(ctx context.Context) (report.System, error)
	// ChainHeads reads the raw log's chain heads; nil leaves them out.
	ChainHeads func(ctx context.Context) ([]report.ChainHead, error)
	// Signer signs the manifest; nil = unsigned.
	Signer audit.ManifestSigner
	// Version is the tool version the report names.
	Version string
	// Now gives the generation time; nil is time.Now.
	Now func() time.Time
}

// Report computes the report of [from, to] (inclusive bounds on
// occurred_at, as GET /v1/findings takes them).
func (rp *Reporter) Report(ctx context.Context, from, to time.Time) (*report.Report, error) {
	if from.IsZero() || to.IsZero() {
		return nil, fmt.Errorf("period: both from and to are required")
	}
	if to.Before(from) {
		return nil, fmt.Errorf("period: to is before from")
	}
	views, err := rp.Service.Findings(ctx, FindingsQuery{From: from, To: to})
	if err != nil {
		return nil, err
	}
	// Of the history, the report needs only the earlier fails (a subject
	// that failed and passes now is listed as remediated): those rows
	// alone, not every verdict ever recorded.
	fails, err := rp.Service.Store.Findings(ctx, store.FindingQuery{Outcome: string(model.Fail), From: lower(from),
		To: exclusive(to), History: true})
	if err != nil {
		return nil, err
	}
	failed := map[[2]string][]model.Finding{}
	for _, f := range fails {
		k := [2]string{f.Rule, f.Subject}
		failed[k] = append(failed[k], f)
	}
	in := report.Input{From: from, To: to, Controls: rules.Catalogue(), ToolVersion: rp.Version, GeneratedAt: time.Now()}
	if rp.Now != nil {
		in.GeneratedAt = rp.Now()
	}
	for _, v := range views {
		in.Findings = append(in.Findings, report.Finding{Finding: v.Finding, History: failed[[2]string{v.Rule, v.Subject}]})
	}
	if rp.System != nil {
		if in.System, err = rp.System(ctx); err != nil {
			return nil, err
		}
	}
	if rp.ChainHeads != nil {
		if in.ChainHeads, err = rp.ChainHeads(ctx); err != nil {
			return nil, err
		}
	}
	return report.Build(in), nil
}

// Files renders the report of [from, to] in format ("html" or "oscal"),
// with its manifest and, with a Signer, the manifest's signature.
func (rp *Reporter) Files(ctx context.Context, from, to time.Time, format string) ([]report.File, error) {
	if format != "" && format != report.FormatHTML && format != report.FormatOSCAL {
		return nil, fmt.Errorf("format %q: want html or oscal", format)
	}
	r, err := rp.Report(ctx, from, to)
	if err != nil {
		return nil, err
	}
	return report.Files(r, format, oscal.Render, rp.Signer)
}

// ServeHTTP serves GET /v1/report?from=&to=[&format=html|oscal]: the
// report's files as a zip archive (the layout `changeproof report` writes).
func (rp *Reporter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	from, to, err := ParseBounds(v.Get("from"), v.Get("to"))
	if err != nil {
		httpError(w, http.StatusBadRequest, err.Error())
		return
	}
	if from.IsZero() || to.IsZero() {
		httpError(w, http.StatusBadRequest, "from and to: both are required (YYYY-MM-DD or RFC 3339, inclusive, UTC)")
		return
	}
	format := v.Get("format")
	if format != "" && format != report.FormatHTML && format != report.FormatOSCAL {
		httpError(w, http.StatusBadRequest, fmt.Sprintf("format %q: want html or oscal", format))
		return
	}
	if to.Before(from) {
		httpError(w, http.StatusBadRequest, "to: before from")
		return
	}
	files, err := rp.Files(r.Context(), from, to, format)
	if err != nil {
		httpError(w, http.StatusInternalServerError, "report: "+err.Error())
		return
	}
	body, err := ZipFiles(files)
	if err != nil {
		httpError(w, http.StatusInternalServerError, "report: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="report-%s-%s.zip"`,
		from.UTC().Format("20060102"), to.UTC().Format("20060102")))
	_, _ = w.Write(body)
}

// ZipFiles packs report files the way sample exports are packed (sorted
// entries, fixed timestamps).
func ZipFiles(files []report.File) ([]byte, error) {
	dir, err := os.MkdirTemp("", "changeproof-report-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if err := report.WriteDir(dir, files); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := audit.WriteZip(&buf, dir); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
