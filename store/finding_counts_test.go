package store_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/store"
	"github.com/changeproof/changeproof/store/storetest"
)

// Counts are of current verdicts: a subject whose verdict changed counts
// once, under its latest outcome.
func TestFindingCounts(t *testing.T) {
	ctx := context.Background()
	s := storetest.Open(t)
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	f := func(rule, subject string, o model.Outcome, at time.Duration) model.Finding {
		return model.Finding{Rule: rule, Subject: subject, Outcome: o, Reason: "r", Repo: "acme/api",
			OccurredAt: t0, EvaluatedAt: t0.Add(at)}
	}
	if err := s.AppendFindings(ctx, []model.Finding{
		f("CM-1", "acme/api#1", model.Pending, time.Minute),
		f("CM-1", "acme/api#1", model.Fail, time.Hour),
		f("CM-1", "acme/api#2", model.Pass, time.Minute),
		f("CM-1", "acme/api#3", model.Pass, time.Minute),
		f("CM-2", "acme/api#1", model.Error, time.Minute),
	}); err != nil {
		t.Fatal(err)
	}
	got, err := s.FindingCounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []store.FindingCount{{"CM-1", "fail", 1}, {"CM-1", "pass", 2}, {"CM-2", "error", 1}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%+v, want %+v", got, want)
	}
}
