package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/changeproof/changeproof/api"
	"github.com/changeproof/changeproof/config"
)

// source answers evidence queries: a running server, or the local data dir.
type source struct {
	common
	server string
	token  string
	svc    *api.Service
	cfg    config.Config // the local configuration, when svc is set
	closer func()
}

func (s *source) register(fs *flag.FlagSet) {
	s.common.register(fs)
	fs.StringVar(&s.server, "server", "", "base URL of a running changeproof (default: read --data-dir directly)")
	fs.StringVar(&s.token, "token", os.Getenv("CHANGEPROOF_TOKEN"), "bearer token for --server (default $CHANGEPROOF_TOKEN)")
}

func (s *source) open(ctx context.Context) error {
	if s.server != "" {
		if s.token == "" {
			return errors.New("--server needs --token or CHANGEPROOF_TOKEN (an auditor or admin token)")
		}
		return nil
	}
	if _, err := os.Stat(s.dataDir); err != nil {
		return fmt.Errorf("--data-dir %s: %w (run `changeproof serve` or `changeproof demo` first, or pass --server)", s.dataDir, err)
	}
	cfg, st, closeStore, err := s.openLocal(ctx)
	if err != nil {
		return err
	}
	s.svc = &api.Service{Store: st, InScope: cfg.Scope.InScope, Rules: ruleIDs()}
	s.cfg, s.closer = cfg, closeStore
	return nil
}

func (s *source) close() {
	if s.closer != nil {
		s.closer()
	}
}

// get fetches path from the server into v.
func (s *source) get(ctx context.Context, path string, q url.Values, v any) error {
	body, err := s.do(ctx, http.MethodGet, path, q, "", nil)
	if err != nil {
		return err
	}
	return json.Unmarshal(body, v)
}

// do sends one request to the server with the token and returns the body
// of a 200; any other status is an error naming the request and the
// server's reason (its JSON "error", else the body).
func (s *source) do(ctx context.Context, method, path string, q url.Values, contentType string, reqBody []byte) ([]byte, error) {
	u := strings.TrimRight(s.server, "/") + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var rd io.Reader
	if reqBody != nil {
		rd = bytes.NewReader(reqBody)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(body, &e) != nil || e.Error == "" {
			e.Error = strings.TrimSpace(string(body))
		}
		return nil, fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, e.Error)
	}
	return body, nil
}

func runFindings(args []string) error {
	fs := flag.NewFlagSet("findings", flag.ContinueOnError)
	var s source
	s.register(fs)
	rule := fs.String("rule", "", "only this rule, e.g. CM-2")
	outcome := fs.String("outcome", "", "only this outcome: pass|fail|pending|waived|not_applicable|error")
	repo := fs.String("repo", "", "only this repository (owner/name)")
	var p period
	p.register(fs)
	history := fs.Bool("history", false, "include earlier outcomes")
	format := fs.String("format", "table", "table|json|csv")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := checkFormat(*format, "table", "json", "csv"); err != nil {
		return err
	}
	q := api.FindingsQuery{Rule: *rule, Outcome: *outcome, Repo: *repo, History: *history}
	var err error
	if q.From, q.To, err = p.parse(); err != nil {
		return err
	}
	ctx := context.Background()
	if err := s.open(ctx); err != nil {
		return err
	}
	defer s.close()
	var out struct {
		Findings []api.FindingView `json:"findings"`
	}
	if s.svc != nil {
		out.Findings, err = s.svc.Findings(ctx, q)
	} else {
		v := queryValues(map[string]string{"rule": *rule, "outcome": *outcome, "repo": *repo, "from": p.from, "to": p.to})
		if *history {
			v.Set("history", "true")
		}
		err = s.get(ctx, "/v1/findings", v, &out)
	}
	if err != nil {
		return err
	}
	return renderFindings(os.Stdout, *format, out.Findings)
}

func runChanges(args []string) error {
	fs := flag.NewFlagSet("changes", flag.ContinueOnError)
	var s source
	s.register(fs)
	repo := fs.String("repo", "", "only this repository (owner/name)")
	var p period
	p.register(fs)
	inScope := fs.Bool("in-scope", false, "only in-scope repositories")
	format := fs.String("format", "table", "table|json|csv")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := checkFormat(*format, "table", "json", "csv"); err != nil {
		return err
	}
	q := api.ChangesQuery{Repo: *repo, InScope: *inScope}
	var err error
	if q.From, q.To, err = p.parse(); err != nil {
		return err
	}
	ctx := context.Background()
	if err := s.open(ctx); err != nil {
		return err
	}
	defer s.close()
	var out struct {
		Changes []api.ChangeView `json:"changes"`
	}
	if s.svc != nil {
		out.Changes, err = s.svc.Changes(ctx, q)
	} else {
		v := queryValues(map[string]string{"repo": *repo, "from": p.from, "to": p.to})
		if *inScope {
			v.Set("in_scope", "true")
		}
		err = s.get(ctx, "/v1/changes", v, &out)
	}
	if err != nil {
		return err
	}
	return renderChanges(os.Stdout, *format, out.Changes)
}

var subjectRE = regexp.MustCompile(`^([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+)(?:#([0-9]+)|@([0-9a-fA-F]{40}))$`)

func runEvidence(args []string) error {
	fs := flag.NewFlagSet("evidence", flag.ContinueOnError)
	var s source
	s.register(fs)
	format := fs.String("format", "table", "table|json")
	// Accept the subject before or after the flags.
	var subject string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		subject, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if subject == "" && fs.NArg() > 0 {
		subject = fs.Arg(0)
	}
	if err := checkFormat(*format, "table", "json"); err != nil {
		return err
	}
	m := subjectRE.FindStringSubmatch(subject)
	if m == nil {
		return fmt.Errorf("subject %q: want OWNER/REPO#NUMBER or OWNER/REPO@<40-hex sha>", subject)
	}
	owner, repo, num, sha := m[1], m[2], m[3], strings.ToLower(m[4])
	n, _ := strconv.Atoi(num)
	ctx := context.Background()
	if err := s.open(ctx); err != nil {
		return err
	}
	defer s.close()
	var b *api.Bundle
	var err error
	if s.svc != nil {
		b, err = s.svc.BundleFor(ctx, owner+"/"+repo, n, sha)
	} else {
		path := fmt.Sprintf("/v1/changes/%s/%s/%d", owner, repo, n)
		if sha != "" {
			path = fmt.Sprintf("/v1/changes/%s/%s/commit/%s", owner, repo, sha)
		}
		b = &api.Bundle{}
		err = s.get(ctx, path, nil, b)
	}
	if err != nil {
		return err
	}
	return renderBundle(os.Stdout, *format, b)
}

// period is the --from/--to pair of the query commands.
type period struct{ from, to string }

func (p *period) register(fs *flag.FlagSet) {
	fs.StringVar(&p.from, "from", "", "occurred at or after (RFC 3339 or YYYY-MM-DD, UTC)")
	fs.StringVar(&p.to, "to", "", "occurred at or before (inclusive; a date includes the whole day)")
}

func (p period) parse() (from, to time.Time, err error) {
	if from, err = api.ParseBound(p.from, false); err != nil {
		return from, to, fmt.Errorf("--from: %w", err)
	}
	if to, err = api.ParseBound(p.to, true); err != nil {
		return from, to, fmt.Errorf("--to: %w", err)
	}
	return from, to, nil
}

// queryValues keeps the non-empty parameters.
func queryValues(m map[string]string) url.Values {
	v := url.Values{}
	for k, val := range m {
		if val != "" {
			v.Set(k, val)
		}
	}
	return v
}

func checkFormat(got string, allowed ...string) error {
	for _, a := range allowed {
		if got == a {
			return nil
		}
	}
	return fmt.Errorf("--format: want %s, got %q", strings.Join(allowed, "|"), got)
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
