package backfill

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The GraphQL path: one query per page of up to 100 merged pull requests
// of a repository, with everything the controls need of each (merger,
// labels, reviews, commits, the final head's check runs), where the REST
// API needs one to four requests per pull request. What GraphQL does not
// give, or gives truncated, is read over REST as before (see pullsGraphQL).

// PullsOperation is the operationName of the one GraphQL query backfill
// sends; GitHub-compatible test servers recognise it by that name.
const PullsOperation = "ChangeproofMergedPulls"

// pullsQuery is the query. Field names are GitHub's GraphQL API v4
// (a test validates the query against GitHub's published schema).
//   - reviews: fullDatabaseId is the REST review id (databaseId is
//     deprecated, it cannot hold 64-bit ids);
//   - headCommit: the pull request's last commit, which is its head; its
//     latest check runs per suite (checkType LATEST, as the REST check-runs
//     listing filters by default), and whether it has commit statuses at
//     all (StatusContext has no REST id, so statuses stay on REST and are
//     read only when the commit has some and a required check is missing).
//
// Sizes: GitHub refuses a query that could return more than 500,000 nodes
// and charges about one rate point per 100 connection items asked for. A
// page of 100 pull requests with 100 labels, reviews and commits each and
// 20 check suites of 50 runs asks for about 135,000 nodes and costs about
// 25 points of the 5,000 an hour a token has (so about 20,000 merged pull
// requests an hour at most).
const pullsQuery = `query ChangeproofMergedPulls($owner: String!, $name: String!, $base: String!, $first: Int!, $after: String, $commits: Boolean!, $checks: Boolean!) {
  repository(owner: $owner, name: $name) {
    pullRequests(baseRefName: $base, states: [MERGED], orderBy: {field: UPDATED_AT, direction: DESC}, first: $first, after: $after) {
      pageInfo { hasNextPage endCursor }
      nodes {
        number
        title
        body
        url
        createdAt
        updatedAt
        mergedAt
        baseRefName
        headRefName
        headRefOid
        headRepository { nameWithOwner }
        author { __typename login }
        mergedBy { __typename login }
        mergeCommit { oid }
        labels(first: 100) { totalCount nodes { name } }
        reviews(first: 100) {
          totalCount
          nodes { fullDatabaseId state submittedAt url author { __typename login } commit { oid } }
        }
        commits(first: 100) @include(if: $commits) {
          totalCount
          nodes { commit { oid committedDate author { email user { login } } committer { email user { login } } } }
        }
        headCommit: commits(last: 1) @include(if: $checks) {
          nodes {
            commit {
              oid
              status { state }
              checkSuites(first: 20) {
                totalCount
                nodes {
                  checkRuns(first: 50, filterBy: {checkType: LATEST}) {
                    totalCount
                    nodes { databaseId name status conclusion startedAt completedAt url }
                  }
                }
              }
            }
          }
        }
      }
    }
  }
}`

// Page sizes: a first pass reads 100 pull requests a page; a pass that
// knows the previous pass's high-water mark (reconciliation, a re-run)
// starts with a small page, since usually few pull requests changed since,
// and a small page costs GraphQL rate points and bytes in proportion.
const (
	graphqlPage      = 100
	graphqlRerunPage = 10
	// highWaterOverlap reaches back before the previous pass's newest
	// update, for GitHub's own lag in listing an update.
	highWaterOverlap = time.Hour
)

// GraphQLError is an error GitHub's GraphQL API reported in a response's
// "errors" list.
type GraphQLError struct {
	Type    string `json:"type"`
	Message string `json:"message"`
	Path    []any  `json:"path"`
}

func (e *GraphQLError) Error() string {
	if e.Type != "" {
		return fmt.Sprintf("graphql %s: %s", e.Type, e.Message)
	}
	return "graphql: " + e.Message
}

// errNoGraphQL: the server has no GraphQL endpoint (404), as some
// GitHub-compatible servers; Run then reads pull requests over REST.
var errNoGraphQL = errors.New("no GraphQL endpoint")

// graphqlURL is the GraphQL endpoint for a REST base URL: api.github.com
// serves it at /graphql, GitHub Enterprise Server at /api/graphql (its REST
// root being /api/v3).
func graphqlURL(base string) (string, error) {
	if base == "" {
		return "https://api.github.com/graphql", nil
	}
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("backfill: base url: %w", err)
	}
	p := strings.TrimSuffix(u.Path, "/")
	if strings.HasSuffix(p, "/api/v3") {
		p = strings.TrimSuffix(p, "/v3")
	}
	u.Path = p + "/graphql"
	return u.String(), nil
}

// ResponseLog is implemented by a State that keeps what backfill read as
// evidence. LogResponse is called with every GraphQL response before its
// records are written; the id is stable ("graphql:<endpoint>#<hash of the
// request>@<hash of the response>"), so an identical re-run logs a
// duplicate the log drops; body is the request (one JSON line) followed by
// a newline and the response body as the server sent it. An error stops
// the run. REST responses reach the evidence log through PutETag.
type ResponseLog interface {
	LogResponse(ctx context.Context, id string, body []byte) error
}

type gqlRequest struct {
	Query         string         `json:"query"`
	OperationName string         `json:"operationName"`
	Variables     map[string]any `json:"variables"`
}

// graphql posts one query and decodes its data into out. A response whose
// errors say the rate limit is used up is retried after its reset; other
// errors are returned as *GraphQLError.
func (r *runner) graphql(ctx context.Context, q gqlRequest, out any) error {
	reqBody, err := json.Marshal(q)
	if err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.gqlURL, bytes.NewReader(reqBody))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json")
		resp, err := r.hc.Do(req)
		if err != nil {
			return err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return fmt.Errorf("read graphql response: %w", err)
		}
		switch {
		case resp.StatusCode == http.StatusNotFound:
			return errNoGraphQL
		case resp.StatusCode != http.StatusOK:
			return fmt.Errorf("graphql: %s: %s", resp.Status, strings.TrimSpace(string(body[:min(len(body), 200)])))
		}
		var env struct {
			Data   json.RawMessage `json:"data"`
			Errors []GraphQLError  `json:"errors"`
		}
		if err := json.Unmarshal(body, &env); err != nil {
			return fmt.Errorf("graphql response: %w", err)
		}
		if len(env.Errors) > 0 {
			e := env.Errors[0]
			if e.Type == "RATE_LIMITED" && attempt < r.o.MaxRetries {
				wait := time.Minute
				if s, err := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64); err == nil {
					wait = max(time.Unix(s, 0).Sub(r.o.Now())+time.Second, time.Second)
				}
				r.add(func(s *Stats) { s.RateWaits++ })
				if err := r.o.Sleep(ctx, wait); err != nil {
					return err
				}
				continue
			}
			return &e
		}
		if lg, ok := r.st.(ResponseLog); ok {
			rs, bs := sha256.Sum256(reqBody), sha256.Sum256(body)
			id := fmt.Sprintf("graphql:%s#%s@%s", r.gqlURL, hex.EncodeToString(rs[:8]), hex.EncodeToString(bs[:8]))
			if err := lg.LogResponse(ctx, id, append(append(append([]byte(nil), reqBody...), '\n'), body...)); err != nil {
				return fmt.Errorf("log graphql response: %w", err)
			}
		}
		r.add(func(s *Stats) { s.GraphQLQueries++ })
		return json.Unmarshal(env.Data, out)
	}
}
