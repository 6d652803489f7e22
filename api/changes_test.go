package api_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/changeproof/changeproof/api"
	"github.com/changeproof/changeproof/model"
)

// changeJSON is one element of GET /v1/changes.
type changeJSON struct {
	Subject    string            `json:"subject"`
	Kind       string            `json:"kind"`
	Repo       string            `json:"repo"`
	Number     int               `json:"number"`
	SHA        string            `json:"sha"`
	OccurredAt string            `json:"occurred_at"`
	Actor      string            `json:"actor"`
	Title      string            `json:"title"`
	URL        string            `json:"url"`
	InScope    bool              `json:"in_scope"`
	Outcomes   map[string]string `json:"outcomes"`
}

type changesPage struct {
	Changes []changeJSON `json:"changes"`
}

// The population seedChanges stores, sorted by subject.
var (
	chPR10 = changeJSON{Subject: "acme/api#10", Kind: "pull_request", Repo: "acme/api", Number: 10, SHA: sha('1'),
		OccurredAt: "2026-03-01T10:00:00Z", Actor: "alice", Title: "PAY-1 change", URL: "https://github.com/acme/api/pull/10",
		InScope: true, Outcomes: map[string]string{}}
	chPR7 = changeJSON{Subject: "acme/api#7", Kind: "pull_request", Repo: "acme/api", Number: 7, SHA: sha('b'),
		OccurredAt: "2026-03-01T23:59:59.5Z", Actor: "alice", Title: "PAY-1 change", URL: "https://github.com/acme/api/pull/7",
		InScope: true, Outcomes: map[string]string{"CM-1": "pass", "CM-2": "pass", "CM-3": "fail"}}
	chPush = changeJSON{Subject: "acme/api@" + sha('d'), Kind: "direct_push", Repo: "acme/api", SHA: sha('d'),
		OccurredAt: "2026-03-02T00:00:00Z", Actor: "carol", Title: "PAY-3 hotfix", URL: "https://github.com/acme/api/commit/" + sha('d'),
		InScope: true, Outcomes: map[string]string{"CM-1": "waived", "CM-4": "pass"}}
	chWeb12 = changeJSON{Subject: "acme/web#12", Kind: "pull_request", Repo: "acme/web", Number: 12, SHA: sha('6'),
		OccurredAt: "2026-02-28T12:00:00Z", Actor: "alice", Title: "PAY-1 change", URL: "https://github.com/acme/web/pull/12",
		InScope: false, Outcomes: map[string]string{"CM-1": "pass"}}
)

// seedChanges stores four changes and several movements that are not
// changes, with findings of CM and other rules.
func seedChanges(t *testing.T, e *env) {
	t.Helper()
	at7 := ts(t, "2026-03-01T23:59:59.5Z")
	at10 := ts(t, "2026-03-01T10:00:00Z")
	atPush := ts(t, "2026-03-02T00:00:00Z")
	atWeb := ts(t, "2026-02-28T12:00:00Z")

	unmerged := mergedPR("acme/api", 8, time.Time{}, sha('7'), sha('8'))
	unmerged.Merged, unmerged.MergeCommitSHA = false, ""
	toRelease := mergedPR("acme/api", 9, at10, sha('9'), sha('8'))
	toRelease.BaseRef = "release"
	direct := mainPush("acme/api", sha('b'), sha('d'), atPush)
	direct.Messages = []string{"fix typo", "PAY-3 hotfix"}
	feature := mainPush("acme/api", sha('0'), sha('5'), atPush)
	feature.Ref = "refs/heads/feature"
	created := mainPush("acme/api", sha('0'), sha('4'), atPush)
	created.Created = true
	e.write(t, model.Batch{
		PullRequests: []model.PullRequest{
			mergedPR("acme/api", 7, at7, sha('b'), sha('c')),
			mergedPR("acme/api", 10, at10, sha('1'), sha('2')),
			unmerged, toRelease,
			mergedPR("acme/web", 12, atWeb, sha('6'), sha('3')),
		},
		Pushes: []model.Push{
			mainPush("acme/api", sha('1'), sha('b'), at7),  // the merge of #7
			mainPush("acme/api", sha('a'), sha('1'), at10), // the merge of #10
			direct, feature, created,
		},
	})
	ev := ts(t, "2026-03-05T00:00:00Z")
	e.findings(t,
		finding("CM-1", "acme/api#7", model.Pass, at7, ev),
		finding("CM-2", "acme/api#7", model.Pending, at7, ev),
		finding("CM-3", "acme/api#7", model.Fail, at7, ev),
		finding("AC-3", "acme/api#7", model.Fail, at7, ev),
		finding("CM-1", "acme/api@"+sha('b'), model.NotApplicable, at7, ev),
		finding("CM-1", "acme/api@"+sha('d'), model.Fail, atPush, ev),
		finding("CM-4", "acme/api@"+sha('d'), model.Pass, atPush, ev),
		finding("CM-1", "acme/web#12", model.Pass, atWeb, ev),
	)
	e.findings(t,
		finding("CM-2", "acme/api#7", model.Pass, at7, ev.Add(time.Hour)),
		finding("CM-1", "acme/api@"+sha('d'), model.Waived, atPush, ev.Add(time.Hour)),
	)
}

func TestChangesPopulation(t *testing.T) {
	e := newEnv(t)
	seedChanges(t, e)
	var page changesPage
	body := e.getJSON(t, "/v1/changes", http.StatusOK, &page)
	want := []changeJSON{chPR10, chPR7, chPush, chWeb12}
	if !reflect.DeepEqual(page.Changes, want) {
		t.Fatalf("changes\n got %+v\nwant %+v", page.Changes, want)
	}
	if got := keys(t, body); len(got) != 1 || !got["changes"] {
		t.Fatalf("top-level keys %v", got)
	}
	var raw struct {
		Changes []map[string]json.RawMessage `json:"changes"`
	}
	_ = json.Unmarshal(body, &raw)
	if string(raw.Changes[0]["outcomes"]) != "{}" {
		t.Fatalf("change without findings: outcomes %s, want {}", raw.Changes[0]["outcomes"])
	}
}

func TestChangesEmpty(t *testing.T) {
	e := newEnv(t)
	var raw map[string]json.RawMessage
	e.getJSON(t, "/v1/changes", http.StatusOK, &raw)
	if string(raw["changes"]) != "[]" {
		t.Fatalf("empty population: %s", raw["changes"])
	}
}

func TestChangesFilters(t *testing.T) {
	e := newEnv(t)
	seedChanges(t, e)
	cases := []struct {
		query string
		want  []changeJSON
	}{
		{"in_scope=true", []changeJSON{chPR10, chPR7, chPush}},
		{"in_scope=false", []changeJSON{chPR10, chPR7, chPush, chWeb12}},
		{"repo=acme/web", []changeJSON{chWeb12}},
		{"repo=acme/web&in_scope=true", []changeJSON{}},
		{"repo=acme/api", []changeJSON{chPR10, chPR7, chPush}},
		{"repo=acme/nope", []changeJSON{}},
		// Periods: whole UTC days, inclusive.
		{"from=2026-03-01&to=2026-03-01", []changeJSON{chPR10, chPR7}},
		{"from=2026-03-02", []changeJSON{chPush}},
		{"to=2026-02-28", []changeJSON{chWeb12}},
		{"to=2026-02-28&in_scope=true", []changeJSON{}},
		{"from=" + url.QueryEscape("2026-03-01T23:59:59.5Z") + "&to=" + url.QueryEscape("2026-03-02T00:00:00Z"), []changeJSON{chPR7, chPush}},
		{"from=" + url.QueryEscape("2026-03-01T10:00:00.001Z") + "&to=" + url.QueryEscape("2026-03-01T23:59:59.499Z"), []changeJSON{}},
		{"from=" + url.QueryEscape("2026-03-01T12:00:00+02:00") + "&to=" + url.QueryEscape("2026-03-01T05:00:00-05:00"), []changeJSON{chPR10}},
		{"repo=acme/api&in_scope=true&from=2026-03-01&to=2026-03-01", []changeJSON{chPR10, chPR7}},
	}
	for _, c := range cases {
		var page changesPage
		e.getJSON(t, "/v1/changes?"+c.query, http.StatusOK, &page)
		if page.Changes == nil {
			t.Errorf("?%s: changes is null", c.query)
		}
		if !reflect.DeepEqual(page.Changes, c.want) && !(len(page.Changes) == 0 && len(c.want) == 0) {
			t.Errorf("?%s\n got %+v\nwant %+v", c.query, page.Changes, c.want)
		}
	}
}

func TestChangesBadPeriod(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct{ query, prefix string }{
		{"from=2026-13-01", `from: "2026-13-01"`},
		{"to=soon", `to: "soon"`},
		{"from=2026-03-01&to=2026-03-01T00:00", `to: "2026-03-01T00:00"`},
	} {
		e.wantError(t, "/v1/changes?"+c.query, http.StatusBadRequest, c.prefix)
	}
}

func TestServiceChangesWithoutScopeFunc(t *testing.T) {
	e := newEnv(t)
	seedChanges(t, e)
	svc := &api.Service{Store: e.st}
	cs, err := svc.Changes(e.ctx, api.ChangesQuery{InScope: true})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range cs {
		if !c.InScope {
			t.Errorf("%s: in_scope false without a scope function", c.Subject)
		}
		got = append(got, c.Subject)
	}
	want := []string{"acme/api#10", "acme/api#7", "acme/api@" + sha('d'), "acme/web#12"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("subjects %q, want %q", got, want)
	}
	// The Service's bounds are inclusive instants.
	cs, err = svc.Changes(e.ctx, api.ChangesQuery{From: ts(t, "2026-03-01T23:59:59.5Z"), To: ts(t, "2026-03-02T00:00:00Z")})
	if err != nil || len(cs) != 2 || cs[0].Subject != "acme/api#7" || cs[1].Subject != "acme/api@"+sha('d') {
		t.Fatalf("inclusive bounds: %+v, %v", cs, err)
	}
}

// limit and cursor page through the population in subject order: every
// change once, next empty on the last page, absent without limit.
func TestChangesPaging(t *testing.T) {
	e := newEnv(t)
	seedChanges(t, e)
	want := []changeJSON{chPR10, chPR7, chPush, chWeb12}
	for _, limit := range []int{1, 3, 4, 10} {
		var got []changeJSON
		cursor := ""
		for pages := 0; ; pages++ {
			if pages > 10 {
				t.Fatalf("limit %d: no end", limit)
			}
			v := url.Values{"limit": {strconv.Itoa(limit)}}
			if cursor != "" {
				v.Set("cursor", cursor)
			}
			var p struct {
				Changes []changeJSON `json:"changes"`
				Next    *string      `json:"next"`
			}
			e.getJSON(t, "/v1/changes?"+v.Encode(), http.StatusOK, &p)
			if p.Next == nil {
				t.Fatalf("limit %d: no next", limit)
			}
			if len(p.Changes) > limit {
				t.Fatalf("limit %d: page of %d", limit, len(p.Changes))
			}
			got = append(got, p.Changes...)
			if *p.Next == "" {
				break
			}
			cursor = *p.Next
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("limit %d: pages hold %+v", limit, got)
		}
	}
	// Paging composes with the filters.
	var p changesPage
	e.getJSON(t, "/v1/changes?in_scope=true&limit=2&cursor="+base64.RawURLEncoding.EncodeToString([]byte(chPR7.Subject)), http.StatusOK, &p)
	if !reflect.DeepEqual(p.Changes, []changeJSON{chPush}) {
		t.Errorf("after %s in scope: %+v", chPR7.Subject, p.Changes)
	}
	e.wantError(t, "/v1/changes?limit=0", http.StatusBadRequest, "limit: must be a positive integer")
	e.wantError(t, "/v1/changes?cursor=%25%25", http.StatusBadRequest, "cursor: not a cursor from a previous answer")
}
