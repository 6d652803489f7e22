package main

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/changeproof/changeproof/api"
	"github.com/changeproof/changeproof/audit"
	"github.com/changeproof/changeproof/audit/report"
	"github.com/changeproof/changeproof/config"
	"github.com/changeproof/changeproof/store"
	"github.com/spf13/cobra"
)

// reporter is the period report over this configuration and store,
// signed by signer (nil: unsigned).
func reporter(cfg config.Config, svc *api.Service, signer audit.ManifestSigner) *api.Reporter {
	return &api.Reporter{Service: svc, Signer: signer, Version: Version,
		System:     func(ctx context.Context) (report.System, error) { return systemInScope(ctx, cfg, svc.Store) },
		ChainHeads: func(ctx context.Context) ([]report.ChainHead, error) { return chainHeads(ctx, svc.Store) }}
}

// chainHeads reads the raw log's chain heads for a report.
func chainHeads(ctx context.Context, st *store.Store) ([]report.ChainHead, error) {
	hs, err := st.ChainHeads(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]report.ChainHead, len(hs))
	for i, h := range hs {
		out[i] = report.ChainHead{Chain: h.Chain, Seq: h.Seq, Hash: h.Hash}
	}
	return out, nil
}

// systemInScope describes the system in scope from the configuration and
// the repositories with stored evidence.
func systemInScope(ctx context.Context, cfg config.Config, st *store.Store) (report.System, error) {
	sys := report.System{RepositoryPatterns: cfg.Scope.Repos, ProductionEnvironments: cfg.Scope.ProductionEnvironments}
	repos, err := st.Repos(ctx)
	if err != nil {
		return sys, err
	}
	for _, r := range repos {
		if cfg.Scope.InScope(r) {
			sys.Repositories = append(sys.Repositories, r)
		}
	}
	for name, s := range cfg.Scope.Services {
		sys.Services = append(sys.Services, report.Service{Name: name, Repos: s.Repos})
	}
	for name := range cfg.Access.Systems {
		sys.AccessSystems = append(sys.AccessSystems, name)
	}
	sort.Strings(sys.AccessSystems)
	// The policy as the configuration file spells it, key by key.
	raw, err := yaml.Marshal(cfg.Policy)
	if err != nil {
		return sys, err
	}
	if err := yaml.Unmarshal(raw, &sys.Policy); err != nil {
		return sys, err
	}
	sys.Waivers = waiversOf(cfg)
	return sys, nil
}

func newReportCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Write the SOC 2 period report (HTML or OSCAL)",
		Long: `Write the period report of an observation period to --out: report.html,
report.json and exceptions.csv (--format html), or OSCAL assessment
results (--format oscal), with a manifest of every file's hash, signed with
signing.key_file. With --server the server writes it (auditor or admin
token).`,
		Example: `  changeproof report --from 2026-01-01 --to 2026-06-30 --out report-h1
  changeproof report --from 2026-01-01 --to 2026-06-30 --format oscal --out oscal-h1`,
		Args: cobra.NoArgs,
	}
	fs := cmd.Flags()
	var s source
	s.register(fs)
	from := fs.String("from", "", "first day of the observation period (YYYY-MM-DD or RFC 3339, UTC), required")
	to := fs.String("to", "", "last day of the period (inclusive), required")
	out := fs.String("out", "", "directory to write the report to (must not exist or be empty), required")
	format := fs.String("format", report.FormatHTML, "html (report.html, report.json, exceptions.csv) or oscal (assessment-results.json)")
	cmd.RunE = run(func(*cobra.Command, []string) error { return runReport(&s, *from, *to, *out, *format) })
	return cmd
}

// runReport writes the period report to out.
func runReport(s *source, from, to, out, format string) error {
	if out == "" {
		return errors.New("--out: required")
	}
	if format != report.FormatHTML && format != report.FormatOSCAL {
		return fmt.Errorf("--format %q: want html or oscal", format)
	}
	if f, err := api.ParseBound(from, false); err != nil || f.IsZero() {
		return fmt.Errorf("--from %q: a date (YYYY-MM-DD) or RFC 3339 time is required", from)
	}
	if t, err := api.ParseBound(to, true); err != nil || t.IsZero() {
		return fmt.Errorf("--to %q: a date (YYYY-MM-DD) or RFC 3339 time is required", to)
	}
	if entries, err := os.ReadDir(out); err == nil && len(entries) > 0 {
		return fmt.Errorf("--out %s: not empty (refusing to mix reports); give a new or empty directory", out)
	}
	ctx := context.Background()
	src, err := s.queries(ctx)
	if err != nil {
		return err
	}
	defer s.close()
	files, err := src.Report(ctx, from, to, format)
	if err != nil {
		return err
	}
	if err := report.WriteDir(out, files); err != nil {
		return err
	}
	for _, f := range files {
		fmt.Println(filepath.Join(out, f.Name))
	}
	if format == report.FormatHTML {
		fmt.Printf("open %s in a browser (print it to PDF for the audit file); check the files with `changeproof verify-export %s`\n",
			filepath.Join(out, "report.html"), out)
	}
	return nil
}

// fetchReport asks a server for the report (GET /v1/report) and returns
// its files.
// Report fetches the report's files from the server.
func (r *remote) Report(ctx context.Context, from, to, format string) ([]report.File, error) {
	data, err := r.do(ctx, http.MethodGet, "/v1/report", url.Values{"from": {from}, "to": {to}, "format": {format}}, "", nil)
	if err != nil {
		return nil, err
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, err
	}
	var files []report.File
	for _, f := range zr.File {
		// A report is flat: any other name is not one of ours.
		if f.Name != path.Base(f.Name) || f.Name == "." || f.Name == ".." || strings.ContainsAny(f.Name, `\/`) {
			return nil, fmt.Errorf("unexpected path %q in the report", f.Name)
		}
		rc, err := f.Open()
		if err != nil {
			return nil, err
		}
		content, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return nil, err
		}
		files = append(files, report.File{Name: f.Name, Data: content})
	}
	// The manifest and its signature are written after what they list.
	sort.SliceStable(files, func(i, j int) bool {
		return !strings.HasPrefix(files[i].Name, "manifest.json") && strings.HasPrefix(files[j].Name, "manifest.json")
	})
	return files, nil
}
