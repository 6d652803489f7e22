package backfill

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/changeproof/changeproof/internal/testkit/githubfake"
)

// FuzzGraphQLPulls feeds GraphQL answers to the decoding and mapping of
// pull requests, seeded with the test server's answers to the product's
// query (which follow the query's shape over the same history the REST
// fixtures hold): nothing panics, and what maps has the ids the REST path
// gives.
func FuzzGraphQLPulls(f *testing.F) {
	srv := githubfake.New(f, githubfake.Scenario("acme/ledger", 12, 5))
	for _, depth := range []bool{false, true} {
		q, _ := json.Marshal(gqlRequest{Query: pullsQuery, OperationName: PullsOperation, Variables: map[string]any{
			"owner": "acme", "name": "ledger", "base": "main", "first": 5, "after": nil, "commits": depth, "checks": depth}})
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/graphql", bytes.NewReader(q))
		req.Header.Set("Authorization", "Bearer "+githubfake.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			f.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		f.Add(body)
	}
	f.Add([]byte(`{"data":{"repository":{"pullRequests":{"pageInfo":{"hasNextPage":false,"endCursor":null},"nodes":[{"number":1,"mergedAt":"9999-01-01T00:00:00Z","author":null,"reviews":{"totalCount":1,"nodes":[{"fullDatabaseId":"x","state":"APPROVED","submittedAt":"2026-01-01T00:00:00Z"}]}}]}}}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var env struct {
			Data gqlPullsData `json:"data"`
		}
		if json.Unmarshal(body, &env) != nil || env.Data.Repository == nil {
			return
		}
		for _, p := range env.Data.Repository.PullRequests.Nodes {
			pr := gqlPRRecord(p, "acme/ledger", "main", now0)
			if pr.DeliveryID == "" || pr.Labels == nil {
				t.Fatalf("pull request record %+v", pr)
			}
			for _, rv := range gqlReviewRecords("acme/ledger", p, now0) {
				if rv.ReviewID == 0 || !strings.HasPrefix(rv.DeliveryID, "backfill:review:") {
					t.Fatalf("review record %+v", rv)
				}
			}
			for _, c := range gqlCommitRecords("acme/ledger", p, now0) {
				if c.Login == "" {
					t.Fatalf("contribution without login %+v", c)
				}
			}
			if p.HeadCommit != nil {
				for _, n := range p.HeadCommit.Nodes {
					head := n.Commit
					runs, seen := gqlRunRecords("acme/ledger", p.HeadRefOid, &head, now0)
					for _, c := range runs {
						if !seen[c.Name] || c.State == "" {
							t.Fatalf("check record %+v", c)
						}
					}
				}
			}
		}
	})
}
