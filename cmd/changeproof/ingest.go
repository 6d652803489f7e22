package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
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
)

// runIngest is `changeproof ingest deploy|access --file F`: the same parsing,
// validation and report as POST /v1/deploys and /v1/access, against a running
// server (--server) or the local data dir.
func runIngest(args []string) error {
	if len(args) == 0 || (args[0] != "deploy" && args[0] != "access") {
		return errors.New("usage: changeproof ingest deploy|access --file F [--format FORMAT] [--system S] [--timezone TZ] [--year YYYY]")
	}
	kind := args[0]
	fs := flag.NewFlagSet("ingest "+kind, flag.ContinueOnError)
	var s source
	s.register(fs)
	file := fs.String("file", "", "file to ingest (- = standard input)")
	format := fs.String("format", "generic", "access format: generic|sshd|syslog|journald|k8s-audit|cloudtrail|okta|gcp-audit|teleport")
	system := fs.String("system", "", "access: the system the events are from (required for every format but generic)")
	timezone := fs.String("timezone", "", "access: IANA time zone of classic syslog timestamps (default: access.systems.<system>.timezone, else UTC)")
	year := fs.String("year", "", "access: year of classic syslog timestamps (default: the latest not in the future)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *file == "" {
		return errors.New("--file: required")
	}
	var in io.Reader = os.Stdin
	if *file != "-" {
		f, err := os.Open(*file)
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
		if s.token == "" {
			return errors.New("--server needs --token or CHANGEPROOF_TOKEN (an ingest or admin token)")
		}
		path := "/v1/deploys"
		if kind == "access" {
			q := url.Values{"format": {*format}, "system": {*system}}
			if *timezone != "" {
				q.Set("timezone", *timezone)
			}
			if *year != "" {
				q.Set("year", *year)
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
			f, err := access.ParseFormat(*format)
			if err != nil {
				return err
			}
			if f != access.Generic && *system == "" {
				return fmt.Errorf("--system: required for format %s", f)
			}
			loc, y, err := access.TimeOptions(*timezone, *year, cfg.Access.Systems[*system].Timezone)
			if err != nil {
				return fmt.Errorf("--%w", err)
			}
			rep, code = ingest.IngestAccess(ctx, in, access.Options{Format: f, System: *system,
				BreakGlassRoles: cfg.Access.Systems[*system].BreakGlassRoles, Location: loc, Year: y}, a.intake)
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
