package api_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/changeproof/changeproof/api"
	"github.com/changeproof/changeproof/model"
)

// bundleJSON is GET /v1/changes/{owner}/{repo}/{number} and .../commit/{sha}.
type bundleJSON struct {
	Subject        string                `json:"subject"`
	InScope        bool                  `json:"in_scope"`
	Change         model.Change          `json:"change"`
	ReviewVerdicts []model.ReviewVerdict `json:"review_verdicts"`
	Pushes         []model.Push          `json:"pushes"`
	Deploys        []json.RawMessage     `json:"deploys"`
	Findings       []findingJSON         `json:"findings"`
	Waivers        []model.Waiver        `json:"waivers"`
	Rulesets       []model.RulesetEvent  `json:"rulesets"`
}

var bundleKeys = map[string]bool{"subject": true, "in_scope": true, "change": true, "review_verdicts": true,
	"pushes": true, "deploys": true, "findings": true, "waivers": true, "rulesets": true}

// bundleFixture is what seedBundles stored.
type bundleFixture struct {
	verdicts []model.ReviewVerdict // CM-2's current evidence for acme/api#7
	waiver   model.Waiver          // on CM-3 acme/api#7
}

// seedBundles stores acme/api#7 (merged as sha b, head c, three reviews,
// whose merge push was first judged as the direct push acme/api@b), the
// direct push acme/api@d, and decoys.
func seedBundles(t *testing.T, e *env) bundleFixture {
	t.Helper()
	merged := ts(t, "2026-03-01T10:00:00Z")
	pr := mergedPR("acme/api", 7, merged, sha('b'), sha('c'))
	pr.Labels, pr.Body = []string{"hotfix"}, "Fixes PAY-1"
	review := func(id int64, who, state, at string) model.Review {
		return model.Review{Repo: "acme/api", PRNumber: 7, ReviewID: id, DeliveryID: "rv-" + who, Action: "submitted",
			Reviewer: who, State: state, CommitID: sha('c'), SubmittedAt: ts(t, at), ReceivedAt: ts(t, at)}
	}
	mergePush := mainPush("acme/api", sha('a'), sha('b'), merged.Add(time.Second))
	direct := mainPush("acme/api", sha('b'), sha('d'), ts(t, "2026-03-02T08:00:00Z"))
	direct.Messages = []string{"hotfix without PR"}
	headPush := mainPush("acme/api", sha('0'), sha('c'), merged.Add(-time.Hour))
	headPush.Ref = "refs/heads/feature/x"
	feature := mainPush("acme/api", sha('0'), sha('5'), merged)
	feature.Ref = "refs/heads/feature/y"
	unmerged := mergedPR("acme/api", 8, time.Time{}, sha('8'), sha('9'))
	unmerged.Merged = false
	e.write(t, model.Batch{
		PullRequests: []model.PullRequest{pr, unmerged, mergedPR("acme/api", 11, merged, sha('1'), sha('2')),
			mergedPR("acme/web", 7, merged, sha('e'), sha('f'))},
		Reviews: []model.Review{review(101, "carol", "approved", "2026-03-01T09:00:00Z"),
			review(102, "alice", "approved", "2026-03-01T09:30:00Z"), review(103, "dave", "commented", "2026-03-01T08:00:00Z")},
		Pushes: []model.Push{mergePush, direct, headPush, feature},
	})

	ev := ts(t, "2026-03-01T10:01:00Z")
	prov := "acme/api@" + sha('b')
	provCM1 := finding("CM-1", prov, model.Fail, merged, ev)
	provCM4 := finding("CM-4", prov, model.Fail, merged, ev)
	withdrawn := func(f model.Finding) model.Finding {
		f.Outcome, f.Reason, f.EvaluatedAt = model.NotApplicable, "merge of acme/api#7", ev.Add(4*time.Minute)
		f.Evidence = model.Evidence{SourceEvidence: model.SourceEvidence{MergeOf: "acme/api#7"}}
		return f
	}
	vAlice := model.ReviewVerdict{ReviewID: 102, Reviewer: "alice", State: "approved", CommitID: sha('c'),
		SubmittedAt: ts(t, "2026-03-01T09:30:00Z"), Why: "self-approval by alice"}
	vCarol := model.ReviewVerdict{ReviewID: 101, Reviewer: "carol", State: "approved", CommitID: sha('c'),
		SubmittedAt: ts(t, "2026-03-01T09:00:00Z"), Counted: true}
	vDave := model.ReviewVerdict{ReviewID: 103, Reviewer: "dave", State: "commented", CommitID: sha('c'),
		SubmittedAt: ts(t, "2026-03-01T08:00:00Z"), Why: "comment, not an approval"}
	cm2a := finding("CM-2", "acme/api#7", model.Pending, merged, ev.Add(4*time.Minute))
	cm2a.Evidence.Reviews = []model.ReviewVerdict{vAlice}
	cm2b := finding("CM-2", "acme/api#7", model.Pass, merged, ev.Add(time.Hour))
	cm2b.Evidence.Reviews = []model.ReviewVerdict{vDave, vCarol, vAlice}
	w := model.Waiver{Rule: "CM-3", Subject: "acme/api#7", Reason: "reviewed out of band", ApprovedBy: "cto",
		Expires: ts(t, "2027-01-01T00:00:00Z")}
	cm3a := finding("CM-3", "acme/api#7", model.Fail, merged, ev.Add(time.Hour))
	cm3b := cm3a
	cm3b.Outcome, cm3b.EvaluatedAt, cm3b.Waiver = model.Waived, ev.Add(2*time.Hour), &w
	atD := ts(t, "2026-03-02T08:00:00Z")
	e.findings(t, provCM1, provCM4, cm2a, cm3a,
		finding("CM-1", "acme/api@"+sha('d'), model.Fail, atD, ev),
		finding("CM-1", "acme/api#70", model.Pass, merged, ev),
		finding("CM-1", "acme/web#7", model.Pass, merged, ev))
	e.findings(t, withdrawn(provCM1), withdrawn(provCM4), finding("CM-1", "acme/api#7", model.Pass, merged, ev.Add(4*time.Minute)),
		cm2b, cm3b, finding("CM-4", "acme/api@"+sha('d'), model.Pass, atD, ev))
	// The server records configured waivers at start; a waiver for another
	// subject stays out of this bundle.
	other := model.Waiver{Rule: "CM-2", Subject: "acme/api#70", Reason: "other", ApprovedBy: "cto", Expires: w.Expires}
	if err := e.st.RecordWaivers(e.ctx, []model.Waiver{w, other}, ev); err != nil {
		t.Fatal(err)
	}
	return bundleFixture{verdicts: cm2b.Evidence.Reviews, waiver: w}
}

func getBundle(t *testing.T, e *env, path string) (bundleJSON, []byte) {
	t.Helper()
	var b bundleJSON
	body := e.getJSON(t, path, http.StatusOK, &b)
	if got := keys(t, body); !reflect.DeepEqual(got, bundleKeys) {
		t.Fatalf("GET %s: keys %v, want %v", path, got, bundleKeys)
	}
	var raw map[string]json.RawMessage
	_ = json.Unmarshal(body, &raw)
	for _, k := range []string{"review_verdicts", "pushes", "deploys", "findings", "waivers"} {
		if s := string(raw[k]); !strings.HasPrefix(s, "[") {
			t.Fatalf("GET %s: %s = %s, want an array", path, k, s)
		}
	}
	return b, body
}

// summary renders findings as "RULE SUBJECT OUTCOME [history outcomes]".
func summary(fs []findingJSON) []string {
	out := []string{}
	for _, f := range fs {
		s := f.line() + " ["
		for i, h := range f.History {
			if i > 0 {
				s += " "
			}
			s += h.Outcome
		}
		out = append(out, s+"]")
	}
	return out
}

func TestBundleOfMergedPullRequest(t *testing.T) {
	e := newEnv(t)
	fx := seedBundles(t, e)
	b, _ := getBundle(t, e, "/v1/changes/acme/api/7")

	if b.Subject != "acme/api#7" || !b.InScope {
		t.Fatalf("subject %q in_scope %v", b.Subject, b.InScope)
	}
	c := b.Change
	if c.Subject != "acme/api#7" || c.Kind != model.KindPullRequest || c.Repo != "acme/api" || c.Number != 7 ||
		c.Author != "alice" || c.MergedBy != "bob" || c.Title != "PAY-1 change" || c.Body != "Fixes PAY-1" ||
		c.HeadRef != "feature/x" || c.HeadSHA != sha('c') || c.MergeCommitSHA != sha('b') || c.SHA != "" ||
		!reflect.DeepEqual(c.Labels, []string{"hotfix"}) || c.URL != "https://github.com/acme/api/pull/7" ||
		!c.OccurredAt.Equal(ts(t, "2026-03-01T10:00:00Z")) {
		t.Fatalf("change = %+v", c)
	}
	var reviews []string
	for _, r := range c.Reviews {
		reviews = append(reviews, r.Reviewer+":"+r.State)
	}
	if want := []string{"dave:commented", "carol:approved", "alice:approved"}; !reflect.DeepEqual(reviews, want) {
		t.Fatalf("change reviews %q, want %q (oldest first)", reviews, want)
	}

	// Review verdicts are the current CM-2 finding's, not the earlier one's.
	if !reflect.DeepEqual(b.ReviewVerdicts, fx.verdicts) {
		t.Fatalf("review_verdicts\n got %+v\nwant %+v", b.ReviewVerdicts, fx.verdicts)
	}

	// Only the push that moved main to the merge commit.
	if len(b.Pushes) != 1 {
		t.Fatalf("pushes = %+v, want the merge push only", b.Pushes)
	}
	if p := b.Pushes[0]; p.Before != sha('a') || p.After != sha('b') || p.Ref != "refs/heads/main" || p.Pusher != "carol" ||
		p.DeliveryID != "push-acme/api-bbbbbbbb" || !p.PushedAt.Equal(ts(t, "2026-03-01T10:00:01Z")) {
		t.Fatalf("push = %+v", p)
	}
	if len(b.Deploys) != 0 {
		t.Fatalf("deploys = %s", b.Deploys)
	}

	// Findings of the PR and of its withdrawn provisional direct-push
	// subject, by rule then subject, each with its history oldest first.
	prov := "acme/api@" + sha('b')
	want := []string{
		"CM-1 acme/api#7 pass [pass]",
		"CM-1 " + prov + " not_applicable [fail not_applicable]",
		"CM-2 acme/api#7 pass [pending pass]",
		"CM-3 acme/api#7 waived [fail waived]",
		"CM-4 " + prov + " not_applicable [fail not_applicable]",
	}
	if got := summary(b.Findings); !reflect.DeepEqual(got, want) {
		t.Fatalf("findings\n got %q\nwant %q", got, want)
	}
	if f := b.Findings[1]; f.Reason != "merge of acme/api#7" || f.Evidence.MergeOf != "acme/api#7" ||
		f.EvaluatedAt != "2026-03-01T10:05:00Z" || f.History[0].EvaluatedAt != "2026-03-01T10:01:00Z" {
		t.Fatalf("withdrawn provisional finding = %+v", f)
	}
	if f := b.Findings[2]; len(f.History[0].Evidence.Reviews) != 1 || f.History[0].Evidence.Reviews[0].ReviewID != 102 {
		t.Fatalf("CM-2 history keeps the earlier evidence: %+v", f.History[0].Evidence)
	}
	if !reflect.DeepEqual(b.Waivers, []model.Waiver{fx.waiver}) {
		t.Fatalf("waivers = %+v, want [%+v]", b.Waivers, fx.waiver)
	}
	if f := b.Findings[3]; f.Waiver == nil || *f.Waiver != fx.waiver || f.History[0].Waiver != nil {
		t.Fatalf("CM-3 finding waiver %+v, history %+v", f.Waiver, f.History)
	}
}

func TestBundleByMergeCommitIsThePullRequest(t *testing.T) {
	e := newEnv(t)
	seedBundles(t, e)
	_, byNumber := getBundle(t, e, "/v1/changes/acme/api/7")
	for _, s := range []string{sha('b'), strings.ToUpper(sha('b'))} {
		_, bySHA := getBundle(t, e, "/v1/changes/acme/api/commit/"+s)
		if string(bySHA) != string(byNumber) {
			t.Fatalf("bundle by merge commit %s differs from by number:\n%s\nvs\n%s", s, bySHA, byNumber)
		}
	}
}

func TestBundleOfDirectPush(t *testing.T) {
	e := newEnv(t)
	seedBundles(t, e)
	b, body := getBundle(t, e, "/v1/changes/acme/api/commit/"+sha('d'))
	subject := "acme/api@" + sha('d')
	if b.Subject != subject || !b.InScope {
		t.Fatalf("subject %q in_scope %v", b.Subject, b.InScope)
	}
	c := b.Change
	if c.Subject != subject || c.Kind != model.KindDirectPush || c.SHA != sha('d') || c.Before != sha('b') ||
		c.Pusher != "carol" || !reflect.DeepEqual(c.Messages, []string{"hotfix without PR"}) || c.Number != 0 ||
		c.MergeCommitSHA != "" || !c.OccurredAt.Equal(ts(t, "2026-03-02T08:00:00Z")) ||
		c.URL != "https://github.com/acme/api/commit/"+sha('d') {
		t.Fatalf("change = %+v", c)
	}
	if len(b.Pushes) != 1 || b.Pushes[0].After != sha('d') || b.Pushes[0].Before != sha('b') {
		t.Fatalf("pushes = %+v", b.Pushes)
	}
	want := []string{"CM-1 " + subject + " fail [fail]", "CM-4 " + subject + " pass [pass]"}
	if got := summary(b.Findings); !reflect.DeepEqual(got, want) {
		t.Fatalf("findings %q, want %q", got, want)
	}
	var raw map[string]json.RawMessage
	_ = json.Unmarshal(body, &raw)
	for _, k := range []string{"review_verdicts", "waivers", "deploys"} {
		if s := strings.Join(strings.Fields(string(raw[k])), ""); s != "[]" {
			t.Fatalf("direct push: %s = %s, want []", k, raw[k])
		}
	}
}

func TestBundleWithoutEvidence(t *testing.T) {
	e := newEnv(t)
	seedBundles(t, e)
	b, _ := getBundle(t, e, "/v1/changes/acme/api/11")
	if b.Subject != "acme/api#11" || len(b.Findings) != 0 || len(b.Pushes) != 0 || len(b.ReviewVerdicts) != 0 ||
		len(b.Waivers) != 0 || len(b.Change.Reviews) != 0 {
		t.Fatalf("bundle of a PR without evidence = %+v", b)
	}
	// Same number, another repository: its own change, its own scope.
	b, _ = getBundle(t, e, "/v1/changes/acme/web/7")
	if b.Subject != "acme/web#7" || b.InScope || b.Change.MergeCommitSHA != sha('e') ||
		!reflect.DeepEqual(summary(b.Findings), []string{"CM-1 acme/web#7 pass [pass]"}) || len(b.Change.Reviews) != 0 {
		t.Fatalf("acme/web#7 bundle = %+v", b)
	}
}

func TestBundleNotFound(t *testing.T) {
	e := newEnv(t)
	seedBundles(t, e)
	for path, msg := range map[string]string{
		"/v1/changes/acme/api/99":                 "change acme/api#99: not found",
		"/v1/changes/acme/api/8":                  "change acme/api#8: not found", // closed, not merged
		"/v1/changes/acme/api/70":                 "change acme/api#70: not found",
		"/v1/changes/nobody/none/7":               "change nobody/none#7: not found",
		"/v1/changes/acme/api/commit/" + sha('c'): "change acme/api@" + sha('c') + ": not found", // head, not a change
		"/v1/changes/acme/api/commit/" + sha('5'): "change acme/api@" + sha('5') + ": not found", // feature branch push
		"/v1/changes/acme/api/commit/" + sha('e'): "change acme/api@" + sha('e') + ": not found", // acme/web's merge
		"/v1/changes/acme/web/commit/" + sha('d'): "change acme/web@" + sha('d') + ": not found",
		"/v1/changes/acme/api/commit/" + sha('f'): "change acme/api@" + sha('f') + ": not found",
		"/v1/changes/acme/api/commit/" + sha('a'): "change acme/api@" + sha('a') + ": not found", // only a before
	} {
		if got := e.wantError(t, path, http.StatusNotFound, ""); got != msg {
			t.Errorf("GET %s: error %q, want %q", path, got, msg)
		}
	}
	_, err := e.svc.BundleFor(e.ctx, "acme/api", 99, "")
	if !errors.Is(err, api.ErrNotFound) {
		t.Fatalf("BundleFor(#99) = %v, want ErrNotFound", err)
	}
}

func TestBundleBadPath(t *testing.T) {
	e := newEnv(t)
	seedBundles(t, e)
	for _, n := range []string{"abc", "0", "-3", "1.5", "7a", "0x7", "99999999999999999999"} {
		if got := e.wantError(t, "/v1/changes/acme/api/"+n, http.StatusBadRequest, ""); got != "number: must be a pull request number" {
			t.Errorf("number %q: error %q", n, got)
		}
	}
	for _, s := range []string{"abc123", sha('b')[:39], sha('b') + "b", strings.Repeat("g", 40), "0x" + sha('b')[:38],
		strings.Repeat("b", 39) + "%20"} {
		if got := e.wantError(t, "/v1/changes/acme/api/commit/"+s, http.StatusBadRequest, ""); got != "sha: must be a full 40-hex commit SHA" {
			t.Errorf("sha %q: error %q", s, got)
		}
	}
}

// A merge push seen before its pull_request event is first a direct push;
// once the PR arrives the same commit leads to the PR, and the PR's bundle
// shows what was recorded for the provisional subject.
func TestBundleProvisionalDirectPushBecomesPR(t *testing.T) {
	e := newEnv(t)
	merged := ts(t, "2026-03-01T10:00:00Z")
	prov := "acme/api@" + sha('b')
	e.write(t, model.Batch{Pushes: []model.Push{mainPush("acme/api", sha('a'), sha('b'), merged)}})
	e.findings(t, finding("CM-1", prov, model.Fail, merged, merged.Add(time.Minute)))

	b, _ := getBundle(t, e, "/v1/changes/acme/api/commit/"+sha('b'))
	if b.Subject != prov || b.Change.Kind != model.KindDirectPush ||
		!reflect.DeepEqual(summary(b.Findings), []string{"CM-1 " + prov + " fail [fail]"}) {
		t.Fatalf("before the PR: %+v", b)
	}
	e.wantError(t, "/v1/changes/acme/api/7", http.StatusNotFound, "change acme/api#7: not found")

	e.write(t, model.Batch{PullRequests: []model.PullRequest{mergedPR("acme/api", 7, merged, sha('b'), sha('c'))}})
	withdrawn := finding("CM-1", prov, model.NotApplicable, merged, merged.Add(2*time.Minute))
	withdrawn.Reason = "merge of acme/api#7"
	e.findings(t, withdrawn, finding("CM-1", "acme/api#7", model.Pass, merged, merged.Add(2*time.Minute)))

	want := []string{"CM-1 acme/api#7 pass [pass]", "CM-1 " + prov + " not_applicable [fail not_applicable]"}
	for _, p := range []string{"/v1/changes/acme/api/7", "/v1/changes/acme/api/commit/" + sha('b')} {
		b, _ = getBundle(t, e, p)
		if b.Subject != "acme/api#7" || b.Change.Kind != model.KindPullRequest {
			t.Fatalf("GET %s after the PR: subject %q kind %q", p, b.Subject, b.Change.Kind)
		}
		if got := summary(b.Findings); !reflect.DeepEqual(got, want) {
			t.Fatalf("GET %s findings %q, want %q", p, got, want)
		}
		if len(b.Pushes) != 1 || b.Pushes[0].After != sha('b') {
			t.Fatalf("GET %s pushes %+v", p, b.Pushes)
		}
	}
	// The population now counts the PR, not the push.
	var page changesPage
	e.getJSON(t, "/v1/changes", http.StatusOK, &page)
	if len(page.Changes) != 1 || page.Changes[0].Subject != "acme/api#7" ||
		!reflect.DeepEqual(page.Changes[0].Outcomes, map[string]string{"CM-1": "pass"}) {
		t.Fatalf("population = %+v", page.Changes)
	}
}
