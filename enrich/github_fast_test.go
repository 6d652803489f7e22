package enrich

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/changeproof/changeproof/internal/jsonscan"
	"github.com/changeproof/changeproof/internal/testkit/fixture"
)

// sameAsEncodingJSON checks that whenever the fast decoder vouches for a
// body, it decoded exactly what encoding/json decodes.
func sameAsEncodingJSON[T any](t *testing.T, body []byte, fast func(*jsonscan.Reader, *T)) {
	t.Helper()
	var got, want T
	r := jsonscan.New(body)
	fast(r, &got)
	r.End()
	err := json.Unmarshal(body, &want)
	if r.Failed() {
		return
	}
	if err != nil {
		t.Fatalf("%.200q: fast decoder succeeded where encoding/json failed: %v", body, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%.200q:\n fast %+v\n json %+v", body, got, want)
	}
}

func checkAll(t *testing.T, body []byte) {
	t.Helper()
	sameAsEncodingJSON(t, body, fastPREvent)
	sameAsEncodingJSON(t, body, fastReviewEvent)
	sameAsEncodingJSON(t, body, fastPushEvent)
}

func fastSeeds() [][]byte {
	repo := fixture.Repo{FullName: "acme/ledger", DefaultBranch: "trunk", PushedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	at := time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)
	pr := fixture.PR{Repo: repo, Number: 4, Author: "alice", MergedBy: "bob", Title: "Fix \"quotes\" \u2028 é", Body: "line\nline\t\\",
		HeadSHA: fixture.SHA("h"), MergeCommitSHA: fixture.SHA("m"), Labels: []string{"a", "emergency"}, Merged: true, MergedAt: at}
	seeds := [][]byte{
		fixture.PullRequest("closed", pr),
		fixture.PullRequest("opened", fixture.PR{Repo: repo, Number: 5}),
		fixture.PullRequestReview("submitted", fixture.ReviewEvent{PR: pr, Reviewer: "carol", State: "approved", SubmittedAt: at}),
		fixture.PullRequestReview("dismissed", fixture.ReviewEvent{PR: pr, ReviewID: 9, SubmittedAt: at}),
		fixture.Push(fixture.PushEvent{Repo: repo, Before: fixture.SHA("a"), After: fixture.SHA("b"),
			Commits: []fixture.Commit{{SHA: fixture.SHA("b"), Message: "PAY-1 \"x\"\n\nbody", Author: "bob", Timestamp: at}}}),
		fixture.Push(fixture.PushEvent{Repo: repo, Before: fixture.SHA("a"), After: fixture.ZeroSHA, Deleted: true}),
		[]byte(`{"action":"closed","number":3,"pull_request":{"number":null,"labels":[null,{"name":"x"}],"body":null},"repository":{"full_name":"a/b","default_branch":"main","pushed_at":"2026-01-01T00:00:00Z"}}`),
		[]byte(`{"commits":null,"head_commit":null,"pusher":null,"sender":{"login":null}}`),
		[]byte(`{"Action":"closed"}`), []byte(`{"action":"a","action":"b"}`), []byte(`{"number":1.0}`), []byte(`null`),
	}
	for _, name := range fixture.Templates() {
		seeds = append(seeds, fixture.Template(name))
	}
	return seeds
}

func TestFastDecodersMatchEncodingJSON(t *testing.T) {
	for _, b := range fastSeeds() {
		checkAll(t, b)
	}
}

func FuzzFastDecoders(f *testing.F) {
	for _, b := range fastSeeds() {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkAll(t, b) })
}

// The fast path must vouch for the payloads GitHub actually sends; a
// fallback to encoding/json on them would cost the speed it exists for.
func TestFastDecodersAcceptRecordedPayloads(t *testing.T) {
	for _, name := range []string{fixture.TemplatePullRequestClosed, fixture.TemplatePullRequestOpened,
		fixture.TemplateReviewSubmitted, fixture.TemplateReviewDismissed, fixture.TemplatePush} {
		b := fixture.Template(name)
		r := jsonscan.New(b)
		switch name {
		case fixture.TemplatePush:
			fastPushEvent(r, &pushEvent{})
		case fixture.TemplateReviewSubmitted, fixture.TemplateReviewDismissed:
			fastReviewEvent(r, &reviewEvent{})
		default:
			fastPREvent(r, &prEvent{})
		}
		if r.End(); r.Failed() {
			t.Errorf("%s: fast decoder fell back to encoding/json", name)
		}
	}
}
