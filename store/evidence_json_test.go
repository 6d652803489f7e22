package store

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/changeproof/changeproof/model"
)

// TestMarshalEvidenceIsEncodingJSON: byte for byte what encoding/json
// writes, for evidence of every shape and strings that need escaping.
func TestMarshalEvidenceIsEncodingJSON(t *testing.T) {
	if !evidenceFieldsKnown {
		t.Fatal("model.Evidence or model.ReviewVerdict changed: update marshalEvidence (it now falls back to encoding/json)")
	}
	texts := []string{"", "plain", "acme/api#12", "a <b> & c", "quote \" and \\ backslash", "tab\tnew\nline\r",
		"\x00\x01\x1f\x7f", "é ü 漢字", "\u2028\u2029", "bad \xff\xfe utf-8", "emoji 🙂", "~`!@#$%^*()_+-={}[]|:;',.?/"}
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func() string { return texts[rng.IntN(len(texts))] }
	picks := func() []string {
		switch rng.IntN(3) {
		case 0:
			return nil
		case 1:
			return []string{}
		}
		out := make([]string, 1+rng.IntN(3))
		for i := range out {
			out[i] = pick()
		}
		return out
	}
	at := []time.Time{{}, time.Date(2026, 3, 1, 9, 0, 0, 123456789, time.UTC),
		time.Date(2026, 3, 1, 9, 0, 0, 0, time.FixedZone("x", 3600)), time.Unix(1, 0)}
	for n := 0; n < 3000; n++ {
		ev := model.Evidence{ChangeEvidence: model.ChangeEvidence{URL: pick(), Author: pick(), MergedBy: pick(), Pusher: pick(), SHA: pick(), HeadSHA: pick(), MergeCommitSHA: pick(), Labels: picks()}, TicketEvidence: model.TicketEvidence{TicketKeys: picks()}, SettingsEvidence: model.SettingsEvidence{Settings: picks()}, ChecksEvidence: model.ChecksEvidence{Checks: picks()}, SourceEvidence: model.SourceEvidence{DeliveryIDs: picks(), MergeOf: pick()}, DeployEvidence: model.DeployEvidence{Shipped: picks(), FailedChanges: picks()}, PrincipalEvidence: model.PrincipalEvidence{Principal: pick(), Person: pick(), System: pick(), Role: pick(), Ticket: pick()}}
		for i := rng.IntN(4) - 1; i > 0; i-- {
			ev.Reviews = append(ev.Reviews, model.ReviewVerdict{ReviewID: rng.Int64N(1 << 40), Reviewer: pick(), State: pick(),
				CommitID: pick(), SubmittedAt: at[rng.IntN(len(at))], Counted: rng.IntN(2) == 0, Why: pick()})
		}
		want, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		got, err := marshalEvidence(&ev)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("marshalEvidence(%+v):\n got %s (%v)\nwant %s", ev, got, err, want)
		}
	}
	// A time encoding/json refuses is refused alike.
	bad := model.Evidence{ReviewEvidence: model.ReviewEvidence{Reviews: []model.ReviewVerdict{{SubmittedAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}}}}
	_, want := json.Marshal(bad)
	if _, got := marshalEvidence(&bad); got == nil || want == nil || got.Error() != want.Error() {
		t.Fatalf("error %v, want %v", got, want)
	}
}

// findingToRow is the reference: the row with encoding/json's encoding.
func findingToRow(f model.Finding) (findingRow, error) {
	ev, err := json.Marshal(f.Evidence)
	if err != nil {
		return findingRow{}, err
	}
	var w []byte
	if f.Waiver != nil {
		if w, err = json.Marshal(f.Waiver); err != nil {
			return findingRow{}, err
		}
	}
	return findingRow{f.Rule, f.Subject, string(f.Outcome), f.Reason, f.Repo, Time(f.OccurredAt),
		Time(f.EvaluatedAt), string(ev), string(w), ""}, nil
}

func TestFindingRowOfIsFindingToRow(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	for _, f := range []model.Finding{
		{Rule: "CM-2", Subject: "acme/api#1", Outcome: model.Fail, Reason: "no <reviews>", Repo: "acme/api", OccurredAt: t0,
			EvaluatedAt: t0.Add(time.Microsecond), Evidence: model.Evidence{ChangeEvidence: model.ChangeEvidence{URL: "u"}, ReviewEvidence: model.ReviewEvidence{Reviews: []model.ReviewVerdict{{ReviewID: 7, Why: "&"}}}}},
		{Rule: "CM-2", Subject: "acme/api#2", Outcome: model.Waived, Reason: "waived", Waiver: &model.Waiver{Rule: "CM-2",
			Subject: "acme/api#2", Reason: "ok <3", ApprovedBy: "cto", Expires: t0}},
		{},
	} {
		want, err := findingToRow(f)
		if err != nil {
			t.Fatal(err)
		}
		got, err := findingRowOf(&f)
		if err != nil || got != want {
			t.Fatalf("findingRowOf = %+v (%v), want %+v", got, err, want)
		}
	}
}
