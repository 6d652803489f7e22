package backfill

import (
	"context"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/changeproof/changeproof/model"
)

// Options configure Run.
type Options struct {
	// BaseURL is the REST API root; empty means https://api.github.com/.
	// For GitHub Enterprise Server: https://HOST/api/v3/.
	BaseURL string
	// Token is a personal or fine-grained token sent as a bearer token
	// with every request; empty sends none (Transport authenticates).
	Token string
	// Transport carries the requests below the rate-limit and ETag layer;
	// default http.DefaultTransport. A GitHub App's installation router
	// (githubapp.App.Transport) goes here, with Token empty.
	Transport http.RoundTripper
	// Since bounds the history read: PRs merged and commits made at or after it.
	Since time.Time
	// Concurrency caps requests in flight (and repositories in progress).
	// Default 4.
	Concurrency int
	// Now is the clock (ReceivedAt, rate-limit waits); default time.Now.
	Now func() time.Time
	// Sleep waits; default a timer that honours ctx.
	Sleep func(ctx context.Context, d time.Duration) error
	// Progress, if set, is called after each finished step.
	Progress func(Progress)
	// MaxRetries bounds retries of one request (5xx, rate limits); default 8.
	MaxRetries int
	// Contributors reads the commits of each merged pull request that has
	// an approval by someone other than its author (GET /pulls/{n}/commits),
	// so that policy.exclude_contributors can judge it.
	Contributors bool
	// RequiredChecks are policy.required_checks: when set, the check runs
	// (and, for a required check not among them, the commit statuses) of
	// each merged pull request's final head commit are read.
	RequiredChecks []string
	// RESTOnly reads pull requests over REST only (per pull request:
	// reviews, commits, check runs), as before GraphQL was used. Without it
	// they are read over GraphQL, a page of 100 per request, and over REST
	// when the server has no GraphQL endpoint (it answers 404).
	RESTOnly bool
}

// Progress reports one finished step of one repository.
type Progress struct {
	Repo     string
	Phase    string // "mergers", "pulls", "commits", "protection", "done"
	PRs      int    // merged PRs of the repository written so far
	Requests int    // requests of the whole run so far
	// The whole run so far: repositories finished (or skipped as finished
	// by an interrupted run) of Repos, merged PRs written, 304 answers.
	ReposDone, Repos int
	TotalPRs         int
	NotModified      int
	// RateRemaining is the primary rate budget GitHub last reported (-1:
	// not known yet); it is restored at RateReset.
	RateRemaining int
	RateReset     time.Time
}

// Stats summarise a run.
type Stats struct {
	Repos   int // repositories finished
	Skipped int // repositories skipped because an interrupted run had finished them
	PRs     int // merged PRs written
	// MergerLookups counts merged PRs whose merger the issue events did not
	// name, read one by one (GET /pulls/{n}).
	MergerLookups int
	Reviews       int
	Pushes        int // default-branch pushes written (merges and direct)
	DirectPushes  int
	Protections   int
	PRCommitLists int // pull requests whose commits were read
	CheckLookups  int // check-run and combined-status reads
	Rulesets      int // active branch rulesets recorded
	// GraphQLQueries counts GraphQL queries answered (pages of merged pull
	// requests); RESTFallbacks the pull requests whose reviews, commits or
	// check runs were more than a query holds and were read over REST.
	GraphQLQueries int
	RESTFallbacks  int
	Requests       int // HTTP requests sent, retries and 304s included
	NotModified    int // of which 304
	Retries        int // 5xx retries
	RateWaits      int // waits for a rate limit (primary or secondary)
}

// State is the durable per-repository cursor and ETag cache.
type State interface {
	// ETag returns the stored validator and body for a request URL.
	ETag(ctx context.Context, url string) (etag string, body []byte, ok bool, err error)
	PutETag(ctx context.Context, url, etag string, body []byte) error
	Cursor(ctx context.Context, repo string) (Cursor, bool, error)
	PutCursor(ctx context.Context, repo string, c Cursor) error
}

// Cursor is where a repository's backfill stands.
type Cursor struct {
	// Generation numbers passes: a new pass starts when every repository of
	// the previous one was Done.
	Generation int       `json:"generation"`
	Since      time.Time `json:"since"`
	Done       bool      `json:"done"`
	// DefaultBranch as read at the start of the pass.
	DefaultBranch string `json:"default_branch,omitempty"`
	// NextPage is the next pull-request list page to read (0: first).
	// Mergers maps PR number to the login that merged it, from the
	// repository's issue events (MergersDone when read).
	Mergers     map[int]string `json:"mergers,omitempty"`
	MergersDone bool           `json:"mergers_done,omitempty"`
	NextPage    int            `json:"next_page,omitempty"`
	// After is the GraphQL cursor of the next page of merged pull requests
	// ("": the first).
	After string `json:"after,omitempty"`
	// HighWater is the newest update time of a merged pull request read
	// over GraphQL into the default branch HighWaterBranch, with the
	// pull-request details Reads names (see Options.reads). A pass after a
	// finished one with the same branch, Reads and a Since not earlier
	// carries it, with Merges, and reads only the pull requests updated
	// since HighWater (less an hour): the others, and their records, are
	// unchanged. GraphQL has no conditional requests; this keeps an
	// unchanged re-run at one small query per repository.
	HighWater       time.Time `json:"high_water,omitempty"`
	HighWaterBranch string    `json:"high_water_branch,omitempty"`
	Reads           string    `json:"reads,omitempty"`
	// Newest is the newest update time this pass has read so far; it
	// becomes HighWater when the pass has read every page.
	Newest    time.Time `json:"newest,omitempty"`
	PullsDone bool      `json:"pulls_done,omitempty"`
	// Merges maps merge_commit_sha to the merged PR, for telling direct
	// pushes from merges in the commits phase.
	Merges      map[string]Merge `json:"merges,omitempty"`
	CommitsDone bool             `json:"commits_done,omitempty"`
	PRs         int              `json:"prs,omitempty"`
}

// Merge is one merged PR as the commits phase needs it.
type Merge struct {
	Number   int       `json:"number"`
	MergedAt time.Time `json:"merged_at"`
	MergedBy string    `json:"merged_by,omitempty"`
}

// Sink receives the records; the store (Write is durable when it returns nil).
type Sink interface {
	Write(ctx context.Context, b model.Batch) error
}

// SinkFunc adapts a function to Sink.
type SinkFunc func(ctx context.Context, b model.Batch) error

// Write implements Sink.
func (f SinkFunc) Write(ctx context.Context, b model.Batch) error { return f(ctx, b) }

// MemState is an in-memory State for tests and one-off runs.
type MemState struct {
	mu        sync.Mutex
	etags     map[string]memEntry
	cursors   map[string]Cursor
	responses map[string][]byte
}

type memEntry struct {
	etag string
	body []byte
}

// ETag implements State.
func (m *MemState) ETag(_ context.Context, url string) (string, []byte, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.etags[url]
	return e.etag, e.body, ok, nil
}

// PutETag implements State.
func (m *MemState) PutETag(_ context.Context, url, etag string, body []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.etags == nil {
		m.etags = map[string]memEntry{}
	}
	m.etags[url] = memEntry{etag, append([]byte(nil), body...)}
	return nil
}

// Cursor implements State.
func (m *MemState) Cursor(_ context.Context, repo string) (Cursor, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.cursors[repo]
	return cloneCursor(c), ok, nil
}

// PutCursor implements State.
func (m *MemState) PutCursor(_ context.Context, repo string, c Cursor) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cursors == nil {
		m.cursors = map[string]Cursor{}
	}
	m.cursors[repo] = cloneCursor(c)
	return nil
}

func cloneCursor(c Cursor) Cursor {
	if c.Merges != nil {
		m := make(map[string]Merge, len(c.Merges))
		for k, v := range c.Merges {
			m[k] = v
		}
		c.Merges = m
	}
	if c.Mergers != nil {
		m := make(map[int]string, len(c.Mergers))
		for k, v := range c.Mergers {
			m[k] = v
		}
		c.Mergers = m
	}
	return c
}

// LogResponse implements ResponseLog: the responses by id (a repeated id
// keeps the first body, as the evidence log does).
func (m *MemState) LogResponse(_ context.Context, id string, body []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.responses == nil {
		m.responses = map[string][]byte{}
	}
	if _, ok := m.responses[id]; !ok {
		m.responses[id] = append([]byte(nil), body...)
	}
	return nil
}

// Responses returns the ids LogResponse was given, sorted.
func (m *MemState) Responses() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]string, 0, len(m.responses))
	for id := range m.responses {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}
