package deploy

import (
	"github.com/changeproof/changeproof/ingest/ndjson"
	"strings"
	"time"

	"github.com/changeproof/changeproof/model"
)

// Options configures parsing.
type Options struct {
	// Services is scope.services: service name -> its repositories
	// ("owner/name"). It fills in and checks the repo field.
	Services map[string][]string
	// Now is the receipt clock; nil = time.Now.
	Now func() time.Time
}

func (o Options) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

// Source is the model.Deploy Source of every record this package makes.
const Source = "api"

var knownFields = []string{"id", "service", "environment", "sha", "repo", "status", "actor",
	"started_at", "finished_at", "pipeline", "url", "version"}

// Parse parses and validates one deploy object (compact or pretty-printed).
// The error, if any, names every problem found; see the package doc.
func Parse(line []byte, o Options) (model.Deploy, error) {
	obj, err := ndjson.DecodeObject(line)
	if err != nil {
		return model.Deploy{}, err
	}
	var p ndjson.Problems
	for _, k := range obj.Unknown(knownFields) {
		p.Add("unknown field %s", ndjson.Quote(k))
	}
	d := model.Deploy{Source: Source}
	d.ID = obj.Required("id", &p)
	d.Service = obj.Required("service", &p)
	d.Environment = obj.Required("environment", &p)
	if sha := obj.Required("sha", &p); sha != "" {
		if isHex40(sha) {
			d.SHA = strings.ToLower(sha)
		} else {
			p.Add("sha: must be 40 hex characters, got %s", ndjson.Quote(sha))
		}
	}
	if repo, ok := obj.Str("repo", &p); ok && d.Service != "" {
		d.Repo = resolveRepo(d.Service, repo, o.Services, &p)
	}
	if status := obj.Required("status", &p); status != "" {
		switch status {
		case model.DeploySuccess, model.DeployFailure, model.DeployInProgress:
			d.Status = status
		default:
			p.Add("status: must be success, failure or in_progress, got %s", ndjson.Quote(status))
		}
	}
	d.Actor = obj.Required("actor", &p)
	if started := obj.Required("started_at", &p); started != "" {
		d.StartedAt = parseTime("started_at", started, &p)
	}
	finished, finishedOK := obj.Str("finished_at", &p)
	switch {
	case finished != "" && d.Status == model.DeployInProgress:
		p.Add("finished_at: must be absent while status is in_progress")
	case finished != "":
		d.FinishedAt = parseTime("finished_at", finished, &p)
		if !d.FinishedAt.IsZero() && !d.StartedAt.IsZero() && d.FinishedAt.Before(d.StartedAt) {
			p.Add("finished_at: before started_at")
		}
	case finishedOK && (d.Status == model.DeploySuccess || d.Status == model.DeployFailure):
		p.Add("finished_at: required when status is %s", d.Status)
	}
	d.Pipeline, _ = obj.Str("pipeline", &p)
	d.URL, _ = obj.Str("url", &p)
	d.Version, _ = obj.Str("version", &p)
	if err := p.Err(); err != nil {
		return model.Deploy{}, err
	}
	d.ReceivedAt = o.now().UTC()
	return d, nil
}

// resolveRepo checks repo against the service's repositories in scope, or
// fills it in when the service maps to exactly one. It returns the
// repository to store: the configured spelling when one matches.
func resolveRepo(service, repo string, services map[string][]string, p *ndjson.Problems) string {
	repos, known := services[service]
	if repo != "" {
		if !validRepo(repo) {
			p.Add("repo: must be owner/name, got %s", ndjson.Quote(repo))
			return ""
		}
		if !known || len(repos) == 0 {
			return repo
		}
		for _, r := range repos {
			if strings.EqualFold(r, repo) {
				return r
			}
		}
		p.Add("repo: %s is not a repository of service %s (scope.services.%s.repos)", ndjson.Quote(repo), ndjson.Quote(service), service)
		return ""
	}
	switch {
	case !known:
		p.Add("service: unknown service %s (not in scope.services) and no repo given", ndjson.Quote(service))
	case len(repos) == 1:
		return repos[0]
	case len(repos) == 0:
		p.Add("repo: required: service %s has no repositories (scope.services.%s.repos)", ndjson.Quote(service), service)
	default:
		p.Add("repo: required: service %s maps to %d repositories", ndjson.Quote(service), len(repos))
	}
	return ""
}

// validRepo reports whether s looks like "owner/name".
func validRepo(s string) bool {
	owner, name, ok := strings.Cut(s, "/")
	return ok && owner != "" && name != "" && !strings.ContainsAny(name, "/") &&
		!strings.ContainsAny(s, " \t\r\n")
}

func isHex40(s string) bool {
	if len(s) != 40 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// parseTime parses an RFC 3339 time (fractional seconds allowed) into UTC
// and holds it to the evidence time range: a time outside is this line's
// error, never clamped by the store.
func parseTime(name, s string, p *ndjson.Problems) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		p.Add("%s: not RFC 3339: %s", name, ndjson.Quote(s))
		return time.Time{}
	}
	t = t.UTC()
	if err := model.CheckTime(name, t); err != nil {
		p.Add("%s", err.Error())
		return time.Time{}
	}
	if t.IsZero() {
		// 0001-01-01T00:00:00Z is Go's "absent": refused like any other
		// time before 1970, not read as a missing value.
		p.Add("%s", (&model.TimeRangeError{Field: name, Time: t}).Error())
	}
	return t
}
