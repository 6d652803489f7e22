package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"

	"go.uber.org/zap"

	"github.com/changeproof/changeproof/ingest"
	"github.com/changeproof/changeproof/ingest/access"
	"github.com/changeproof/changeproof/ingest/deploy"
	"github.com/spf13/cobra"
)

func newIngestCmd() *cobra.Command {
	const usage = "changeproof ingest deploy|access --file F [--format FORMAT] [--system S] [--timezone TZ] [--year YYYY]"
	cmd := &cobra.Command{
		Use:   "ingest deploy|access",
		Short: "Ingest deploy or access events from a file",
		Long: `Feed a file of deploy or access events through the same parsing,
validation and report as POST /v1/deploys and POST /v1/access: into the
local data dir, or a running server with --server (ingest or admin
token). Every rejected line is listed with its line number and field.`,
		Example: `  changeproof ingest deploy --file deploys.ndjson
  changeproof ingest access --file auth.log --format sshd --system bastion`,
		RunE: needSubcommand(usage),
	}
	for _, kind := range []string{"deploy", "access"} {
		cmd.AddCommand(newIngestKindCmd(kind))
	}
	return cmd
}

func newIngestKindCmd(kind string) *cobra.Command {
	cmd := &cobra.Command{
		Use:  kind,
		Args: cobra.NoArgs,
	}
	if kind == "deploy" {
		cmd.Short = "Ingest deploy events (NDJSON, one deploy per line)"
		cmd.Long = `Ingest deploy events from an NDJSON file (one deploy per line: id,
service, environment, sha, status, actor, started_at, finished_at), as
POST /v1/deploys takes them. - reads standard input.`
		cmd.Example = `  changeproof ingest deploy --file deploys.ndjson --config changeproof.yaml
  ci-export | changeproof ingest deploy --file - --server https://changeproof.acme.io --token $INGEST_TOKEN`
	} else {
		cmd.Short = "Ingest production access events (sshd, syslog, journald, k8s audit, CloudTrail, Okta, ...)"
		cmd.Long = `Ingest production access events from a log file in one of the supported
formats, as POST /v1/access takes them. Classic syslog timestamps carry
no zone or year: --timezone and --year say which (default: the system's
configured timezone, else UTC; the latest year not in the future).`
		cmd.Example = `  changeproof ingest access --file auth.log --format sshd --system bastion
  changeproof ingest access --format syslog --system bastion --timezone Europe/Berlin --year 2025 --file auth.log.1`
	}
	fs := cmd.Flags()
	var s source
	s.register(fs)
	file := fs.String("file", "", "file to ingest (- = standard input)")
	format := fs.String("format", "generic", "access format: generic|sshd|syslog|journald|k8s-audit|cloudtrail|okta|gcp-audit|teleport")
	system := fs.String("system", "", "access: the system the events are from (required for every format but generic)")
	timezone := fs.String("timezone", "", "access: IANA time zone of classic syslog timestamps (default: access.systems.<system>.timezone, else UTC)")
	year := fs.String("year", "", "access: year of classic syslog timestamps (default: the latest not in the future)")
	if kind == "deploy" {
		for _, n := range []string{"format", "system", "timezone", "year"} {
			_ = fs.MarkHidden(n)
		}
	}
	cmd.RunE = run(func(*cobra.Command, []string) error {
		return runIngest(kind, &s, *file, *format, *system, *timezone, *year)
	})
	return cmd
}

// runIngest is `changeproof ingest deploy|access --file F`: the same parsing,
// validation and report as POST /v1/deploys and /v1/access, against a running
// server (--server) or the local data dir.
func runIngest(kind string, s *source, file, format, system, timezone, year string) error {
	if file == "" {
		return errors.New("--file: required")
	}
	var in io.Reader = os.Stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	var rep ingest.Report
	var code int
	ctx := context.Background()
	if s.server != "" {
		if _, err := s.remote("an ingest or admin"); err != nil {
			return err
		}
		path := "/v1/deploys"
		if kind == "access" {
			q := url.Values{"format": {format}, "system": {system}}
			if timezone != "" {
				q.Set("timezone", timezone)
			}
			if year != "" {
				q.Set("year", year)
			}
			path = "/v1/access?" + q.Encode()
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(s.server, "/")+path, in)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+s.token)
		req.Header.Set("Content-Type", "application/x-ndjson")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		code = resp.StatusCode
		if err := json.NewDecoder(resp.Body).Decode(&rep); err != nil {
			return fmt.Errorf("POST %s: %s", path, resp.Status)
		}
	} else {
		cfg, err := s.load()
		if err != nil {
			return err
		}
		a, err := newApp(ctx, cfg, s.dataDir, zap.NewNop())
		if err != nil {
			return err
		}
		defer a.close()
		a.startRules()
		if kind == "deploy" {
			services := map[string][]string{}
			for name, svc := range cfg.Scope.Services {
				services[name] = svc.Repos
			}
			rep, code = ingest.IngestDeploys(ctx, in, deploy.Options{Services: services}, a.intake)
		} else {
			f, err := access.ParseFormat(format)
			if err != nil {
				return err
			}
			if f != access.Generic && system == "" {
				return fmt.Errorf("--system: required for format %s", f)
			}
			loc, y, err := access.TimeOptions(timezone, year, cfg.Access.Systems[system].Timezone)
			if err != nil {
				return fmt.Errorf("--%w", err)
			}
			rep, code = ingest.IngestAccess(ctx, in, access.Options{Format: f, System: system,
				BreakGlassRoles: cfg.Access.Systems[system].BreakGlassRoles, Location: loc, Year: y}, a.intake)
		}
		if err := a.waitIdle(ctx); err != nil {
			return err
		}
	}
	if err := renderJSON(os.Stdout, rep); err != nil {
		return err
	}
	switch {
	case code >= 300:
		return fmt.Errorf("%d accepted before failing: %s", rep.Accepted, rep.Error)
	case len(rep.Rejected) > 0:
		return fmt.Errorf("%d lines rejected (listed above); %d accepted", len(rep.Rejected), rep.Accepted)
	}
	return nil
}
