package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/changeproof/changeproof/api"
	"github.com/changeproof/changeproof/audit"
	"github.com/changeproof/changeproof/config"
	"github.com/spf13/cobra"
)

// auditSource is the export's view of the store under this configuration.
func auditSource(cfg config.Config, svc *api.Service) api.AuditSource {
	return api.AuditSource{Service: svc, IsProduction: cfg.Scope.IsProductionEnvironment,
		InScopeSystem: func(system string) bool { _, ok := cfg.Access.Systems[system]; return ok }}
}

func newSampleCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sample",
		Short: "Draw an auditor's sample of a period's population and export it",
		Long: `Draw a reproducible random sample of a period's population (changes,
deploys or access events) and write the export to --out: population.csv,
sample.csv, each sampled item's evidence, and a manifest with every file's
hash, the seed and the raw log's chain head (signed with signing.key_file).
--size auto picks the size from the control frequency. With --server the
server draws it (auditor or admin token).`,
		Example: `  changeproof sample --from 2026-01-01 --to 2026-06-30 --size 25 --seed FY26-H1 --out sample-h1
  changeproof sample --from 2026-01-01 --to 2026-06-30 --size auto --frequency recurring --population deploys --out deploys-h1
  changeproof sample --server https://changeproof.acme.io --token $AUDITOR_TOKEN --from 2026-01-01 --to 2026-06-30 --size 25 --out sample-h1`,
		Args: cobra.NoArgs,
	}
	fs := cmd.Flags()
	var s source
	s.register(fs)
	var body api.SampleRequest
	fs.StringVar(&body.From, "from", "", "first day of the period (YYYY-MM-DD or RFC 3339, UTC), required")
	fs.StringVar(&body.To, "to", "", "last day of the period (inclusive), required")
	fs.StringVar(&body.Size, "size", "", "sample size: a number, or auto (with --frequency)")
	fs.StringVar(&body.Frequency, "frequency", "", "control frequency for --size auto: annual|quarterly|monthly|weekly|daily|recurring")
	fs.StringVar(&body.Seed, "seed", "", "seed of the draw (default: generated, written to the manifest)")
	fs.StringVar(&body.Population, "population", audit.PopulationChanges, "changes|deploys|access")
	out := fs.String("out", "", "directory to write the export to (must not exist or be empty), required")
	cmd.RunE = run(func(*cobra.Command, []string) error { return runSample(&s, body, *out) })
	return cmd
}

// runSample draws an auditor's sample and writes the export to out.
func runSample(s *source, body api.SampleRequest, out string) error {
	if out == "" {
		return errors.New("--out: required")
	}
	if _, err := api.ParseSample(body, Version); err != nil {
		return fmt.Errorf("--%s", err)
	}
	ctx := context.Background()
	src, err := s.queries(ctx)
	if err != nil {
		return err
	}
	defer s.close()
	m, err := src.Sample(ctx, body, out)
	if err != nil {
		return err
	}
	fmt.Printf("population %d, sampled %d (seed %s) -> %s\n", m.PopulationSize, m.SampleSizeDrawn, m.Seed, out)
	if m.Note != "" {
		fmt.Println("note:", m.Note)
	}
	fmt.Printf("open %s in a browser; re-derive the sample with the Python in manifest.json's method\n",
		filepath.Join(out, "summary.html"))
	return nil
}

// Sample asks the server for the export and unpacks it into dir.
func (r *remote) Sample(ctx context.Context, body api.SampleRequest, dir string) (*audit.Manifest, error) {
	b, _ := json.Marshal(body)
	data, err := r.do(ctx, http.MethodPost, "/v1/samples", nil, "application/json", b)
	if err != nil {
		return nil, err
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, err
	}
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return nil, fmt.Errorf("--out %s is not empty", dir)
	}
	var m audit.Manifest
	for _, f := range zr.File {
		// A name is safe when it stays inside dir; ".." inside a name
		// (evidence/3-acme_pay..ments_7.json, from a subject with two dots)
		// is not a parent directory.
		if !filepath.IsLocal(filepath.FromSlash(f.Name)) || strings.Contains(f.Name, `\`) {
			return nil, fmt.Errorf("unsafe path %q in the export", f.Name)
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
		path := filepath.Join(dir, filepath.FromSlash(f.Name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(path, content, 0o644); err != nil {
			return nil, err
		}
		if f.Name == "manifest.json" {
			if err := json.Unmarshal(content, &m); err != nil {
				return nil, err
			}
		}
	}
	return &m, nil
}
