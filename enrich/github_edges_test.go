package enrich_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/changeproof/changeproof/enrich"
	"github.com/changeproof/changeproof/internal/testkit/fixture"
	"github.com/changeproof/changeproof/model"
)

// setJSON sets (or with del, removes) the value at a dotted path of a JSON
// body; numbers keep their exact text.
func setJSON(t *testing.T, body []byte, path string, v any) []byte {
	t.Helper()
	return editJSON(t, body, path, func(m map[string]any, k string) { m[k] = v })
}

func delJSON(t *testing.T, body []byte, path string) []byte {
	t.Helper()
	return editJSON(t, body, path, func(m map[string]any, k string) {
		if _, ok := m[k]; !ok {
			t.Fatalf("no %s to delete", path)
		}
		delete(m, k)
	})
}

func editJSON(t *testing.T, body []byte, path string, edit func(map[string]any, string)) []byte {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	keys := strings.Split(path, ".")
	cur := doc
	for _, k := range keys[:len(keys)-1] {
		next, ok := cur[k].(map[string]any)
		if !ok {
			t.Fatalf("no object at %s in %s", k, path)
		}
		cur = next
	}
	edit(cur, keys[len(keys)-1])
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestParseGitHubMalformed(t *testing.T) {
	pr := fixture.PR{Repo: ledger, Number: 3, Author: "alice", HeadSHA: fixture.SHA("h"), MergeCommitSHA: fixture.SHA("m"),
		Merged: true, MergedAt: mergeAt}
	mergedPR := fixture.PullRequest("closed", pr)
	review := fixture.PullRequestReview("submitted", fixture.ReviewEvent{PR: pr, ReviewID: 5, Reviewer: "bob", State: "approved", SubmittedAt: mergeAt})
	push := fixture.Push(fixture.PushEvent{Repo: ledger, Before: fixture.SHA("a"), After: fixture.SHA("b"), PushedAt: mergeAt})
	rule := fixture.BranchProtectionRule(fixture.ProtectionRule{Repo: ledger, Action: "created", Name: "trunk", UpdatedAt: mergeAt})

	tests := []struct {
		name, event string
		body        []byte
		msg         string // the text after "<event> delivery <id>: malformed payload: "
	}{
		{"not JSON", "push", []byte(`{"ref": refs/heads/main}`),
			"invalid character 'r' looking for beginning of value"},
		{"empty body", "pull_request", []byte{}, "unexpected end of JSON input"},
		{"wrong type", "pull_request", setJSON(t, mergedPR, "pull_request.number", "three"),
			"json: cannot unmarshal string into Go struct field ghPR.pull_request.number of type int"},
		{"JSON null", "pull_request", []byte("null"), "no pull_request"},
		{"no pull_request", "pull_request", delJSON(t, mergedPR, "pull_request"), "no pull_request"},
		{"no repository", "pull_request", delJSON(t, mergedPR, "repository"), "no repository.full_name"},
		{"missing repository.full_name", "pull_request", delJSON(t, mergedPR, "repository.full_name"), "no repository.full_name"},
		{"missing default_branch", "pull_request", delJSON(t, mergedPR, "repository.default_branch"), "no repository.default_branch"},
		{"merged PR with merged_at null", "pull_request", setJSON(t, mergedPR, "pull_request.merged_at", nil),
			"pull_request.merged is true but merged_at is missing"},
		{"PR without number", "pull_request",
			delJSON(t, delJSON(t, mergedPR, "number"), "pull_request.number"), "no pull_request.number"},
		{"review without review.id", "pull_request_review", delJSON(t, review, "review.id"), "review.id or review.user missing"},
		{"review without review.user", "pull_request_review", setJSON(t, review, "review.user", nil), "review.id or review.user missing"},
		{"review without review", "pull_request_review", delJSON(t, review, "review"), "no review or pull_request"},
		{"review without pull_request", "pull_request_review", delJSON(t, review, "pull_request"), "no review or pull_request"},
		{"review missing repository.full_name", "pull_request_review", delJSON(t, review, "repository.full_name"), "no repository.full_name"},
		{"push without after", "push", delJSON(t, push, "after"), "push without ref or after"},
		{"push without ref", "push", delJSON(t, push, "ref"), "push without ref or after"},
		{"push missing default_branch", "push", delJSON(t, push, "repository.default_branch"), "no repository.default_branch"},
		{"protection without rule", "branch_protection_rule", delJSON(t, rule, "rule"), "no rule"},
		{"protection missing repository.full_name", "branch_protection_rule", delJSON(t, rule, "repository.full_name"), "no repository.full_name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b model.Batch
			err := enrich.ParseGitHub(delivery(tc.event, "bad-1", tc.body), &b)
			if err == nil {
				t.Fatalf("no error; batch %+v", b)
			}
			if !errors.Is(err, enrich.ErrMalformed) {
				t.Errorf("error %q does not wrap ErrMalformed", err)
			}
			if want := tc.event + " delivery bad-1: malformed payload: " + tc.msg; err.Error() != want {
				t.Errorf("error = %q\n want %q", err, want)
			}
			// A rejected delivery must leave nothing behind: the pipeline
			// shares one batch between deliveries.
			if !reflect.DeepEqual(b, model.Batch{}) {
				t.Errorf("batch after error = %+v, want empty", b)
			}
		})
	}
}

func TestParseGitHubUnknownEvents(t *testing.T) {
	for _, tc := range []struct {
		event string
		body  []byte
	}{
		{"ping", fixture.Ping(ledger)},
		{"ping", fixture.Template(fixture.TemplatePing)},
		{"issues", []byte(`{"action":"opened","issue":{"number":1},"repository":{"full_name":"acme/ledger","default_branch":"trunk"}}`)},
		// Events the controls do not read are not even decoded.
		{"issues", []byte(`not json`)},
		{"", []byte(`{}`)},
		{"check_suite", fixture.Template(fixture.TemplateCheckRunCompleted)},
	} {
		var b model.Batch
		if err := enrich.ParseGitHub(delivery(tc.event, "u-1", tc.body), &b); err != nil {
			t.Errorf("%q: error %v", tc.event, err)
		}
		if !reflect.DeepEqual(b, model.Batch{}) {
			t.Errorf("%q: batch = %+v, want nothing", tc.event, b)
		}
	}
}

// A review that cannot be tied to a pull request number is as unusable as
// a pull_request event without one, and must become a dead letter rather
// than a review of PR #0 that no control will ever read.
func TestParseGitHubReviewWithoutPRNumber(t *testing.T) {
	pr := fixture.PR{Repo: ledger, Number: 3, Author: "alice", HeadSHA: fixture.SHA("h")}
	body := delJSON(t, fixture.PullRequestReview("submitted", fixture.ReviewEvent{PR: pr, ReviewID: 5, Reviewer: "bob",
		State: "approved", SubmittedAt: mergeAt}), "pull_request.number")
	var b model.Batch
	err := enrich.ParseGitHub(delivery("pull_request_review", "bad-1", body), &b)
	if want := "pull_request_review delivery bad-1: malformed payload: no pull_request.number"; err == nil || err.Error() != want || !errors.Is(err, enrich.ErrMalformed) {
		t.Errorf("error = %v, want %q", err, want)
	}
	if !reflect.DeepEqual(b, model.Batch{}) {
		t.Errorf("batch = %+v, want empty", b)
	}
}

// TestGitHubEventsAreTheParsedOnes holds GitHubEvents to ParseGitHub: each
// listed event needs a repository (an empty payload is malformed), and
// every other event of the fixtures adds nothing and is no error.
func TestGitHubEventsAreTheParsedOnes(t *testing.T) {
	listed := map[string]bool{}
	for _, ev := range enrich.GitHubEvents {
		listed[ev] = true
		var b model.Batch
		if err := enrich.ParseGitHub(delivery(ev, "t-empty", []byte(`{}`)), &b); !errors.Is(err, enrich.ErrMalformed) {
			t.Errorf("%s with an empty payload: %v, want ErrMalformed (is it parsed at all?)", ev, err)
		}
	}
	for _, name := range fixture.Templates() {
		ev := eventOf(name)
		if listed[ev] {
			continue
		}
		var b model.Batch
		if err := enrich.ParseGitHub(delivery(ev, "t-"+name, fixture.Template(name)), &b); err != nil || !reflect.DeepEqual(b, model.Batch{}) {
			t.Errorf("%s is not in GitHubEvents but gave %+v, %v", ev, b, err)
		}
	}
}
