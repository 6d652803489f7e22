package api_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/changeproof/changeproof/model"
)

// findingJSON is one element of GET /v1/findings.
type findingJSON struct {
	Rule        string         `json:"rule"`
	Subject     string         `json:"subject"`
	Outcome     string         `json:"outcome"`
	Reason      string         `json:"reason"`
	Repo        string         `json:"repo"`
	OccurredAt  string         `json:"occurred_at"`
	EvaluatedAt string         `json:"evaluated_at"`
	Evidence    model.Evidence `json:"evidence"`
	Waiver      *model.Waiver  `json:"waiver"`
	History     []findingJSON  `json:"history"`
}

type findingsPage struct {
	Findings []findingJSON `json:"findings"`
	Next     *string       `json:"next"`
}

// line renders a finding as "RULE SUBJECT OUTCOME".
func (f findingJSON) line() string { return f.Rule + " " + f.Subject + " " + f.Outcome }

func lines(fs []findingJSON) []string {
	out := []string{}
	for _, f := range fs {
		out = append(out, f.line())
	}
	return out
}

var (
	subjPR    = "acme/api#7"
	subjPush  = "acme/api@" + sha('d')
	subjWebPR = "acme/web#12"
	waiverD   = &model.Waiver{Rule: "CM-1", Subject: "acme/api@" + sha('d'), Reason: "incident INC-9 hotfix",
		ApprovedBy: "cto", Expires: time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)}
)

// allCurrent is every current finding seedFindings stores, in API order.
var allCurrent = []string{
	"AC-3 " + subjPR + " fail",
	"CM-1 " + subjPR + " pass",
	"CM-1 " + subjPush + " waived",
	"CM-1 " + subjWebPR + " pass",
	"CM-2 " + subjPR + " fail",
	"CM-4 " + subjWebPR + " pass",
}

// seedFindings stores six (rule, subject) pairs, three of them with an
// earlier outcome, around the day boundaries of 2026-03-01.
func seedFindings(t *testing.T, e *env) {
	t.Helper()
	pr := ts(t, "2026-03-01T10:00:00Z")
	push := ts(t, "2026-03-01T23:59:59.5Z")
	web := ts(t, "2026-03-02T00:00:00Z")
	early := ts(t, "2026-02-28T23:59:59.999Z")
	ev := ts(t, "2026-03-03T08:00:00Z")

	cm1 := finding("CM-1", subjPR, model.Pass, pr, ev)
	cm1.Reason = "merged pull request acme/api#7"
	cm1.Evidence = model.Evidence{ChangeEvidence: model.ChangeEvidence{URL: "https://github.com/acme/api/pull/7", Author: "alice", MergedBy: "bob", MergeCommitSHA: sha('b'), HeadSHA: sha('c')}, SourceEvidence: model.SourceEvidence{DeliveryIDs: []string{"d-1"}}}
	cm2a := finding("CM-2", subjPR, model.Pending, pr, ev)
	cm2b := finding("CM-2", subjPR, model.Fail, pr, ev.Add(72*time.Hour))
	cm2b.Reason = "approved only by the author (alice)"
	pushFail := finding("CM-1", subjPush, model.Fail, push, ev)
	pushFail.Evidence = model.Evidence{ChangeEvidence: model.ChangeEvidence{Pusher: "carol", SHA: sha('d')}}
	pushWaived := pushFail
	pushWaived.Outcome, pushWaived.Reason, pushWaived.EvaluatedAt = model.Waived, "direct push by carol, waived", ev.Add(time.Hour)
	pushWaived.Waiver = waiverD
	web1 := finding("CM-1", subjWebPR, model.Pass, web, ev)
	web4a := finding("CM-4", subjWebPR, model.Fail, web, ev)
	web4b := finding("CM-4", subjWebPR, model.Pass, web, ev.Add(time.Second))
	ac3 := finding("AC-3", subjPR, model.Fail, early, ev)
	e.findings(t, cm1, cm2a, cm2b, pushFail, web4a)
	e.findings(t, pushWaived, web1, web4b, ac3)
}

func TestFindingsJSONShape(t *testing.T) {
	e := newEnv(t)
	seedFindings(t, e)
	body := e.getJSON(t, "/v1/findings", http.StatusOK, nil)
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		t.Fatal(err)
	}
	if len(top) != 1 || top["findings"] == nil {
		t.Fatalf("top-level keys %v, want only findings (no next without limit)", keys(t, body))
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(top["findings"], &elems); err != nil || len(elems) != len(allCurrent) {
		t.Fatalf("findings = %s (%v)", top["findings"], err)
	}
	want := map[string]bool{"rule": true, "subject": true, "outcome": true, "reason": true, "repo": true,
		"occurred_at": true, "evaluated_at": true, "evidence": true, "waiver": true}
	for i, el := range elems {
		if got := keys(t, el); !reflect.DeepEqual(got, want) {
			t.Fatalf("finding %d keys %v, want %v", i, got, want)
		}
	}
	var raw map[string]json.RawMessage
	_ = json.Unmarshal(elems[1], &raw)
	if string(raw["waiver"]) != "null" {
		t.Fatalf("unwaived finding: waiver %s, want null", raw["waiver"])
	}

	var page findingsPage
	_ = json.Unmarshal(body, &page)
	if got := lines(page.Findings); !reflect.DeepEqual(got, allCurrent) {
		t.Fatalf("findings\n got %q\nwant %q", got, allCurrent)
	}
	cm1 := page.Findings[1]
	wantCM1 := findingJSON{Rule: "CM-1", Subject: subjPR, Outcome: "pass", Reason: "merged pull request acme/api#7",
		Repo: "acme/api", OccurredAt: "2026-03-01T10:00:00Z", EvaluatedAt: "2026-03-03T08:00:00Z",
		Evidence: model.Evidence{ChangeEvidence: model.ChangeEvidence{URL: "https://github.com/acme/api/pull/7", Author: "alice", MergedBy: "bob", MergeCommitSHA: sha('b'), HeadSHA: sha('c')}, SourceEvidence: model.SourceEvidence{DeliveryIDs: []string{"d-1"}}}}
	if !reflect.DeepEqual(cm1, wantCM1) {
		t.Fatalf("CM-1 finding\n got %+v\nwant %+v", cm1, wantCM1)
	}
	waived := page.Findings[2]
	if waived.OccurredAt != "2026-03-01T23:59:59.5Z" || waived.EvaluatedAt != "2026-03-03T09:00:00Z" ||
		waived.Reason != "direct push by carol, waived" || waived.Evidence.Pusher != "carol" || waived.Evidence.SHA != sha('d') {
		t.Fatalf("waived finding = %+v", waived)
	}
	if waived.Waiver == nil || *waived.Waiver != *waiverD {
		t.Fatalf("waived finding's waiver = %+v, want %+v", waived.Waiver, waiverD)
	}
}

func TestFindingsEmpty(t *testing.T) {
	e := newEnv(t)
	body := e.getJSON(t, "/v1/findings", http.StatusOK, nil)
	if got := strings.TrimSpace(string(body)); got != `{"findings":[]}` {
		t.Fatalf("empty store: %s", got)
	}
	body = e.getJSON(t, "/v1/findings?limit=3", http.StatusOK, nil)
	if got := strings.TrimSpace(string(body)); got != `{"findings":[],"next":""}` {
		t.Fatalf("empty store with limit: %s", got)
	}
}

func TestFindingsFilters(t *testing.T) {
	e := newEnv(t)
	seedFindings(t, e)
	cases := []struct {
		query string
		want  []string
	}{
		{"", allCurrent},
		{"rule=CM-1", []string{"CM-1 " + subjPR + " pass", "CM-1 " + subjPush + " waived", "CM-1 " + subjWebPR + " pass"}},
		{"rule=CM-9", []string{}},
		{"outcome=fail", []string{"AC-3 " + subjPR + " fail", "CM-2 " + subjPR + " fail"}},
		{"outcome=waived", []string{"CM-1 " + subjPush + " waived"}},
		// Earlier outcomes never match: the filter is on the current one.
		{"outcome=pending", []string{}},
		{"rule=CM-1&outcome=fail", []string{}},
		{"rule=CM-4&outcome=pass", []string{"CM-4 " + subjWebPR + " pass"}},
		{"repo=acme/web", []string{"CM-1 " + subjWebPR + " pass", "CM-4 " + subjWebPR + " pass"}},
		{"repo=acme/api&rule=CM-1", []string{"CM-1 " + subjPR + " pass", "CM-1 " + subjPush + " waived"}},
		{"repo=acme/api&outcome=pass", []string{"CM-1 " + subjPR + " pass"}},
		// repo=acme (not owner/name) is a 400: see TestFiltersLiteralAndValidated.
	}
	for _, c := range cases {
		var page findingsPage
		e.getJSON(t, "/v1/findings?"+c.query, http.StatusOK, &page)
		if got := lines(page.Findings); !reflect.DeepEqual(got, c.want) {
			t.Errorf("?%s\n got %q\nwant %q", c.query, got, c.want)
		}
		for _, f := range page.Findings {
			if f.History != nil {
				t.Errorf("?%s: %s has history without history=true", c.query, f.line())
			}
		}
	}
}

func TestFindingsPeriod(t *testing.T) {
	e := newEnv(t)
	seedFindings(t, e)
	day1 := []string{"CM-1 " + subjPR + " pass", "CM-1 " + subjPush + " waived", "CM-2 " + subjPR + " fail"}
	cases := []struct {
		from, to string
		want     []string
	}{
		// Dates are whole UTC days, both ends inclusive: 23:59:59.5 is in,
		// 00:00:00 of the next day and 23:59:59.999 of the day before are out.
		{"2026-03-01", "2026-03-01", day1},
		{"2026-03-01", "", allCurrent[1:]},
		{"", "2026-02-28", []string{"AC-3 " + subjPR + " fail"}},
		{"2026-03-02", "2026-03-02", []string{"CM-1 " + subjWebPR + " pass", "CM-4 " + subjWebPR + " pass"}},
		{"2026-03-03", "", []string{}},
		{"2026-03-02", "2026-03-01", []string{}},
		// RFC 3339 instants are inclusive too.
		{"2026-03-01T10:00:00Z", "2026-03-01T10:00:00Z", []string{"CM-1 " + subjPR + " pass", "CM-2 " + subjPR + " fail"}},
		{"2026-03-01T10:00:00.001Z", "2026-03-02T00:00:00Z", []string{"CM-1 " + subjPush + " waived", "CM-1 " + subjWebPR + " pass", "CM-4 " + subjWebPR + " pass"}},
		{"", "2026-03-01T23:59:59.499Z", []string{"AC-3 " + subjPR + " fail", "CM-1 " + subjPR + " pass", "CM-2 " + subjPR + " fail"}},
		{"", "2026-03-01T23:59:59.5Z", []string{"AC-3 " + subjPR + " fail", "CM-1 " + subjPR + " pass", "CM-1 " + subjPush + " waived", "CM-2 " + subjPR + " fail"}},
		// Offsets are converted to UTC.
		{"2026-03-01T19:00:00-05:00", "", []string{"CM-1 " + subjWebPR + " pass", "CM-4 " + subjWebPR + " pass"}},
		{"2026-03-01T11:00:00+01:00", "2026-03-02T00:59:59.4+01:00", []string{"CM-1 " + subjPR + " pass", "CM-2 " + subjPR + " fail"}},
	}
	for _, c := range cases {
		v := url.Values{}
		if c.from != "" {
			v.Set("from", c.from)
		}
		if c.to != "" {
			v.Set("to", c.to)
		}
		var page findingsPage
		e.getJSON(t, "/v1/findings?"+v.Encode(), http.StatusOK, &page)
		if got := lines(page.Findings); !reflect.DeepEqual(got, c.want) {
			t.Errorf("from=%s to=%s\n got %q\nwant %q", c.from, c.to, got, c.want)
		}
	}
	// The period combines with the other filters.
	var page findingsPage
	e.getJSON(t, "/v1/findings?from=2026-03-01&to=2026-03-01&rule=CM-1&outcome=waived", http.StatusOK, &page)
	if got := lines(page.Findings); !reflect.DeepEqual(got, []string{"CM-1 " + subjPush + " waived"}) {
		t.Fatalf("period + rule + outcome: %q", got)
	}
}

func TestFindingsBadPeriod(t *testing.T) {
	e := newEnv(t)
	seedFindings(t, e)
	for _, c := range []struct{ query, param, value string }{
		{"from=2026-02-30", "from", "2026-02-30"},
		{"to=03%2F01%2F2026", "to", "03/01/2026"},
		{"from=2026-03-01T10:00:00", "from", "2026-03-01T10:00:00"},
		{"to=2026-3-1", "to", "2026-3-1"},
		{"from=yesterday&to=2026-03-01", "from", "yesterday"},
		{"from=2026-03-01&to=tomorrow", "to", "tomorrow"},
	} {
		msg := e.wantError(t, "/v1/findings?"+c.query, http.StatusBadRequest, c.param+": ")
		if !strings.Contains(msg, `"`+c.value+`"`) {
			t.Errorf("?%s: error %q does not quote the value", c.query, msg)
		}
	}
}

func TestFindingsHistory(t *testing.T) {
	e := newEnv(t)
	seedFindings(t, e)
	outcomes := func(f findingJSON) []string {
		out := []string{}
		for _, h := range f.History {
			if h.Rule != f.Rule || h.Subject != f.Subject {
				t.Fatalf("%s: history holds %s", f.line(), h.line())
			}
			out = append(out, h.Outcome)
		}
		return out
	}
	var page findingsPage
	e.getJSON(t, "/v1/findings?history=true", http.StatusOK, &page)
	if got := lines(page.Findings); !reflect.DeepEqual(got, allCurrent) {
		t.Fatalf("history=true changes the current findings: %q", got)
	}
	want := map[string][]string{
		"AC-3 " + subjPR:    {"fail"},
		"CM-1 " + subjPR:    {"pass"},
		"CM-1 " + subjPush:  {"fail", "waived"},
		"CM-1 " + subjWebPR: {"pass"},
		"CM-2 " + subjPR:    {"pending", "fail"},
		"CM-4 " + subjWebPR: {"fail", "pass"},
	}
	for _, f := range page.Findings {
		k := f.Rule + " " + f.Subject
		if got := outcomes(f); !reflect.DeepEqual(got, want[k]) {
			t.Errorf("%s history %q, want %q (oldest first)", k, got, want[k])
		}
		last := f.History[len(f.History)-1]
		if last.EvaluatedAt != f.EvaluatedAt || last.Reason != f.Reason {
			t.Errorf("%s: last history entry %+v is not the current finding", k, last)
		}
	}
	cm2 := page.Findings[4].History
	if cm2[0].EvaluatedAt != "2026-03-03T08:00:00Z" || cm2[1].EvaluatedAt != "2026-03-06T08:00:00Z" || cm2[0].Reason != "CM-2 pending" {
		t.Fatalf("CM-2 history = %+v", cm2)
	}
	push := page.Findings[2].History
	if push[0].Waiver != nil || push[1].Waiver == nil || push[1].Waiver.ApprovedBy != "cto" {
		t.Fatalf("push history waivers: %+v / %+v", push[0].Waiver, push[1].Waiver)
	}

	// The outcome filter picks by the current outcome, history still complete.
	page = findingsPage{}
	e.getJSON(t, "/v1/findings?history=true&outcome=fail", http.StatusOK, &page)
	if got := lines(page.Findings); !reflect.DeepEqual(got, []string{"AC-3 " + subjPR + " fail", "CM-2 " + subjPR + " fail"}) {
		t.Fatalf("history + outcome=fail: %q", got)
	}
	if got := outcomes(page.Findings[1]); !reflect.DeepEqual(got, []string{"pending", "fail"}) {
		t.Fatalf("history + outcome=fail: CM-2 history %q", got)
	}
	page = findingsPage{}
	e.getJSON(t, "/v1/findings?history=true&repo=acme/web&rule=CM-4", http.StatusOK, &page)
	if len(page.Findings) != 1 || !reflect.DeepEqual(outcomes(page.Findings[0]), []string{"fail", "pass"}) {
		t.Fatalf("history + repo + rule: %+v", page.Findings)
	}
}

// walk pages through query with limit, returning every finding and the
// page sizes; it fails on a page without next or a repeated cursor.
func walk(t *testing.T, e *env, query string, limit int) ([]findingJSON, []int) {
	t.Helper()
	var all []findingJSON
	var sizes []int
	cursor := ""
	seen := map[string]bool{}
	for pages := 0; ; pages++ {
		if pages > 50 {
			t.Fatalf("?%s limit %d: no end after 50 pages", query, limit)
		}
		v, _ := url.ParseQuery(query)
		v.Set("limit", strconv.Itoa(limit))
		if cursor != "" {
			v.Set("cursor", cursor)
		}
		var page findingsPage
		e.getJSON(t, "/v1/findings?"+v.Encode(), http.StatusOK, &page)
		if page.Next == nil {
			t.Fatalf("?%s: a page with limit has no next", v.Encode())
		}
		if len(page.Findings) > limit {
			t.Fatalf("?%s: %d findings, limit %d", v.Encode(), len(page.Findings), limit)
		}
		all = append(all, page.Findings...)
		sizes = append(sizes, len(page.Findings))
		if *page.Next == "" {
			return all, sizes
		}
		if seen[*page.Next] {
			t.Fatalf("?%s: cursor %q repeats", v.Encode(), *page.Next)
		}
		seen[*page.Next] = true
		cursor = *page.Next
	}
}

func TestFindingsPagination(t *testing.T) {
	e := newEnv(t)
	seedFindings(t, e)
	for _, c := range []struct {
		query string
		limit int
		sizes []int
		want  []string
	}{
		{"", 1, []int{1, 1, 1, 1, 1, 1}, allCurrent},
		{"", 2, []int{2, 2, 2}, allCurrent},
		{"", 4, []int{4, 2}, allCurrent},
		{"", 6, []int{6}, allCurrent},
		{"", 100, []int{6}, allCurrent},
		{"outcome=pass", 1, []int{1, 1, 1}, []string{"CM-1 " + subjPR + " pass", "CM-1 " + subjWebPR + " pass", "CM-4 " + subjWebPR + " pass"}},
		{"rule=CM-1&from=2026-03-01&to=2026-03-01", 1, []int{1, 1}, []string{"CM-1 " + subjPR + " pass", "CM-1 " + subjPush + " waived"}},
		{"outcome=pending", 5, []int{0}, []string{}},
	} {
		got, sizes := walk(t, e, c.query, c.limit)
		if !reflect.DeepEqual(lines(got), c.want) || !reflect.DeepEqual(sizes, c.sizes) {
			t.Errorf("?%s limit %d: pages %v %q, want %v %q", c.query, c.limit, sizes, lines(got), c.sizes, c.want)
		}
	}
	// History travels with each page.
	got, _ := walk(t, e, "history=true", 2)
	if len(got) != 6 || len(got[4].History) != 2 || got[4].History[0].Outcome != "pending" {
		t.Fatalf("paged history: %+v", got)
	}
	// A cursor without limit returns the rest, with no next.
	var first findingsPage
	e.getJSON(t, "/v1/findings?limit=3", http.StatusOK, &first)
	var rest map[string]json.RawMessage
	body := e.getJSON(t, "/v1/findings?cursor="+*first.Next, http.StatusOK, &rest)
	if _, ok := rest["next"]; ok {
		t.Fatalf("cursor without limit answered a next: %s", body)
	}
	var page findingsPage
	_ = json.Unmarshal(body, &page)
	if got := lines(page.Findings); !reflect.DeepEqual(got, allCurrent[3:]) {
		t.Fatalf("cursor without limit: %q, want %q", got, allCurrent[3:])
	}
}

func TestFindingsBadLimitOrCursor(t *testing.T) {
	e := newEnv(t)
	seedFindings(t, e)
	for _, l := range []string{"0", "-1", "x", "1.5", "2x", "%20"} {
		msg := e.wantError(t, "/v1/findings?limit="+l, http.StatusBadRequest, "limit: ")
		if msg != "limit: must be a positive integer" {
			t.Errorf("limit=%s: %q", l, msg)
		}
	}
	e.wantError(t, "/v1/findings?limit=2&cursor=***", http.StatusBadRequest, "cursor: ")
}

// occurred_at is kept to the millisecond; an inclusive lower bound with a
// finer fraction must not let in an instant before it.
func TestFindingsFromWithSubMillisecondFraction(t *testing.T) {
	e := newEnv(t)
	seedFindings(t, e)
	var page findingsPage
	e.getJSON(t, "/v1/findings?from="+url.QueryEscape("2026-03-01T23:59:59.5001Z")+"&to="+url.QueryEscape("2026-03-01T23:59:59.5009Z"), http.StatusOK, &page)
	if got := lines(page.Findings); len(got) != 0 {
		t.Fatalf("[23:59:59.5001, 23:59:59.5009] holds no finding, got %q", got)
	}
	var changes changesPage
	seedChanges(t, e)
	e.getJSON(t, "/v1/changes?from="+url.QueryEscape("2026-03-01T23:59:59.5001Z")+"&to="+url.QueryEscape("2026-03-01T23:59:59.9Z"), http.StatusOK, &changes)
	if len(changes.Changes) != 0 {
		t.Fatalf("[23:59:59.5001, 23:59:59.9] holds no change, got %+v", changes.Changes)
	}
}
