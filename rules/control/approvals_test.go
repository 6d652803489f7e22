package control

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/changeproof/changeproof/model"
)

const (
	sha1 = "2ef7bde608ce5404e97d5f042f95f89f1c232871"
	sha2 = "0c1f7f7f4d0bd3fd8fb2bb0e2f5e5e3a35c1a3f4"
)

var merged = time.Date(2026, 2, 27, 10, 0, 0, 0, time.UTC)

// ev is a review event n minutes before the merge (negative: after it).
func ev(id int64, action, reviewer, state string, n int) model.Review {
	return model.Review{ReviewID: id, Action: action, Reviewer: reviewer, State: state,
		CommitID: sha1, SubmittedAt: merged.Add(-time.Duration(n) * time.Minute)}
}

func TestAnalyzeApprovalsWhy(t *testing.T) {
	ids := model.NewIdentities([]model.Identity{
		{Name: "alice", Logins: []string{"alice", "alice-alt"}},
		{Name: "bob", Logins: []string{"bob", "bob-alt"}},
	})
	tests := []struct {
		name    string
		author  string
		bots    []string
		reviews []model.Review
		want    []string // "id reviewer state counted: why"
	}{
		{
			name:    "counted",
			author:  "alice",
			reviews: []model.Review{ev(1, "submitted", "bob", "Approved", 5)},
			want:    []string{"1 bob approved true: counted"},
		},
		{
			name:    "counted at the merge instant",
			author:  "alice",
			reviews: []model.Review{ev(1, "submitted", "bob", "approved", 0)},
			want:    []string{"1 bob approved true: counted"},
		},
		{
			name:    "self-approval",
			author:  "octocat",
			reviews: []model.Review{ev(1, "submitted", "OctoCat", "approved", 5)},
			want:    []string{"1 OctoCat approved false: self-approval by OctoCat"},
		},
		{
			name:    "self-approval through another login",
			author:  "alice",
			reviews: []model.Review{ev(1, "submitted", "alice-alt", "approved", 5)},
			want:    []string{"1 alice-alt approved false: self-approval by alice-alt (alice)"},
		},
		{
			name:    "GitHub App",
			author:  "alice",
			reviews: []model.Review{ev(1, "submitted", "dependabot[bot]", "approved", 5)},
			want:    []string{"1 dependabot[bot] approved false: approval by dependabot[bot] is a bot's"},
		},
		{
			name:    "policy.bots, case-insensitive",
			author:  "alice",
			bots:    []string{"CI-Robot"},
			reviews: []model.Review{ev(1, "submitted", "ci-robot", "approved", 5)},
			want:    []string{"1 ci-robot approved false: approval by ci-robot is a bot's"},
		},
		{
			name:   "a bot approving its own change is a self-approval",
			author: "dependabot[bot]",
			reviews: []model.Review{
				ev(1, "submitted", "dependabot[bot]", "approved", 5),
			},
			want: []string{"1 dependabot[bot] approved false: self-approval by dependabot[bot]"},
		},
		{
			name:   "dismissed, even if also after merge",
			author: "alice",
			reviews: []model.Review{
				ev(1, "submitted", "bob", "approved", -5),
				ev(1, "dismissed", "bob", "dismissed", -5),
			},
			want: []string{"1 bob approved false: approval by bob was dismissed"},
		},
		{
			name:   "superseded by changes requested",
			author: "alice",
			reviews: []model.Review{
				ev(1, "submitted", "bob", "approved", 10),
				ev(2, "submitted", "bob", "commented", 8),
				ev(3, "submitted", "bob", "changes_requested", 5),
			},
			want: []string{
				"1 bob approved false: approval by bob superseded by changes requested",
				"2 bob commented false: comment only by bob",
				"3 bob changes_requested false: changes requested by bob",
			},
		},
		{
			name:   "superseded by changes requested after merge",
			author: "alice",
			reviews: []model.Review{
				ev(1, "submitted", "bob", "approved", 10),
				ev(2, "submitted", "bob", "changes_requested", -5),
			},
			want: []string{
				"1 bob approved false: approval by bob superseded by changes requested",
				"2 bob changes_requested false: changes requested by bob",
			},
		},
		{
			name:   "another reviewer's changes request does not supersede",
			author: "alice",
			reviews: []model.Review{
				ev(1, "submitted", "bob", "approved", 10),
				ev(2, "submitted", "carol", "changes_requested", 5),
			},
			want: []string{
				"1 bob approved true: counted",
				"2 carol changes_requested false: changes requested by carol",
			},
		},
		{
			name:    "after merge",
			author:  "alice",
			reviews: []model.Review{ev(1, "submitted", "bob", "approved", -1)},
			want:    []string{"1 bob approved false: approval by bob after merge (retro review)"},
		},
		{
			name:   "dismissed changes request",
			author: "alice",
			reviews: []model.Review{
				ev(1, "submitted", "bob", "changes_requested", 5),
				ev(1, "dismissed", "bob", "dismissed", 5),
			},
			want: []string{"1 bob changes_requested false: changes requested by bob (dismissed)"},
		},
		{
			name:    "only the dismissal was seen",
			author:  "alice",
			reviews: []model.Review{ev(1, "dismissed", "bob", "dismissed", 5)},
			want:    []string{"1 bob dismissed false: review by bob was dismissed"},
		},
		{
			name:    "unexpected state",
			author:  "alice",
			reviews: []model.Review{ev(1, "submitted", "bob", "PENDING", 5)},
			want:    []string{"1 bob pending false: pending review by bob"},
		},
		{
			name:   "edits fold into one review; events without id stay apart",
			author: "alice",
			reviews: []model.Review{
				ev(1, "submitted", "bob", "approved", 5),
				ev(1, "edited", "bob", "approved", 5),
				ev(0, "submitted", "carol", "commented", 4),
				ev(0, "submitted", "carol", "commented", 3),
			},
			want: []string{
				"1 bob approved true: counted",
				"0 carol commented false: comment only by carol",
				"0 carol commented false: comment only by carol",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := Env{Policy: DefaultPolicy(), Identities: ids}
			env.Policy.Bots = tc.bots
			a := AnalyzeApprovals(env, model.Change{Kind: model.KindPullRequest, Author: tc.author,
				OccurredAt: merged, Reviews: tc.reviews})
			var got []string
			for _, v := range a.Reviews {
				got = append(got, fmt.Sprintf("%d %s %s %v: %s", v.ReviewID, v.Reviewer, v.State, v.Counted, v.Why))
				if v.CommitID != sha1 || v.SubmittedAt.IsZero() {
					t.Errorf("verdict %d lost commit or time: %+v", v.ReviewID, v)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("verdicts:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestAnalyzeApprovalsSummary(t *testing.T) {
	ids := model.NewIdentities([]model.Identity{
		{Name: "alice", Logins: []string{"alice", "alice-alt"}},
		{Name: "bob", Logins: []string{"Bob", "bob-alt"}},
	})
	c := model.Change{Kind: model.KindPullRequest, Author: "alice", OccurredAt: merged, Reviews: []model.Review{
		ev(1, "submitted", "dave", "commented", 20),
		ev(2, "submitted", "bob-alt", "approved", 19),
		ev(3, "submitted", "alice-alt", "approved", 18),
		ev(4, "submitted", "erin", "changes_requested", 17),
		ev(5, "submitted", "erin", "approved", 16),
		ev(6, "submitted", "erin", "changes_requested", 15),
		ev(7, "submitted", "carol", "approved", 14),
		ev(8, "submitted", "Bob", "approved", 13),
		ev(9, "submitted", "bob-alt", "commented", 12),
		ev(10, "submitted", "frank", "approved", -60),
		ev(11, "submitted", "dave", "changes_requested", 11),
	}}
	c.Reviews[7].CommitID = sha2
	a := AnalyzeApprovals(Env{Policy: DefaultPolicy(), Identities: ids}, c)

	var qualifying []int64
	for _, v := range a.Qualifying {
		qualifying = append(qualifying, v.ReviewID)
	}
	if want := []int64{2, 7, 8}; !slices.Equal(qualifying, want) {
		t.Errorf("qualifying = %v, want %v", qualifying, want)
	}
	if a.Qualifying[2].CommitID != sha2 {
		t.Errorf("qualifying commit = %s, want %s", a.Qualifying[2].CommitID, sha2)
	}
	// One login per person, the first they approved with, sorted.
	if want := []string{"bob-alt", "carol"}; !slices.Equal(a.Approvers, want) {
		t.Errorf("approvers = %q, want %q", a.Approvers, want)
	}
	if len(a.Retro) != 1 || a.Retro[0].ReviewID != 10 || !a.Retro[0].SubmittedAt.Equal(merged.Add(time.Hour)) {
		t.Errorf("retro = %+v, want frank's review 10", a.Retro)
	}
	want := []string{
		"changes requested by dave",
		"self-approval by alice-alt (alice)",
		"approval by erin superseded by changes requested",
		"approval by frank after merge (retro review)",
	}
	if !slices.Equal(a.Uncounted, want) {
		t.Errorf("uncounted:\n%q\nwant\n%q", a.Uncounted, want)
	}
	if !slices.Equal(a.SelfApprovers, []string{"alice-alt"}) || a.OnlySelfApproved {
		t.Errorf("self approvers %q, only self %v", a.SelfApprovers, a.OnlySelfApproved)
	}
}

func TestOnlySelfApproved(t *testing.T) {
	ids := model.NewIdentities([]model.Identity{{Name: "alice", Logins: []string{"alice", "alice-alt"}}})
	for _, tc := range []struct {
		name    string
		reviews []model.Review
		want    bool
		self    []string
	}{
		{"no reviews", nil, false, nil},
		{"comments only", []model.Review{ev(1, "submitted", "bob", "commented", 5)}, false, nil},
		{"author's logins only", []model.Review{
			ev(1, "submitted", "alice-alt", "approved", 5),
			ev(2, "submitted", "bob", "commented", 4),
			ev(3, "submitted", "Alice", "approved", 3),
			ev(4, "submitted", "alice-alt", "approved", 2),
		}, true, []string{"Alice", "alice-alt"}},
		{"and a bot", []model.Review{
			ev(1, "submitted", "alice", "approved", 5),
			ev(2, "submitted", "x[bot]", "approved", 4),
		}, false, []string{"alice"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := AnalyzeApprovals(Env{Policy: DefaultPolicy(), Identities: ids},
				model.Change{Author: "alice", OccurredAt: merged, Reviews: tc.reviews})
			if a.OnlySelfApproved != tc.want || !slices.Equal(a.SelfApprovers, tc.self) {
				t.Errorf("only self = %v, self approvers %q; want %v, %q", a.OnlySelfApproved, a.SelfApprovers, tc.want, tc.self)
			}
		})
	}
}

func TestRequiredApprovals(t *testing.T) {
	for in, want := range map[int]int{-1: 1, 0: 1, 1: 1, 3: 3} {
		if got := RequiredApprovals(Policy{MinApprovals: in}); got != want {
			t.Errorf("RequiredApprovals(%d) = %d, want %d", in, got, want)
		}
	}
}

func TestIsBot(t *testing.T) {
	p := Policy{Bots: []string{"Release-Helper"}}
	for login, want := range map[string]bool{
		"dependabot[bot]": true, "Renovate[BOT]": true, "release-helper": true,
		"bob": false, "bot": false, "[bot]bob": false,
	} {
		if got := IsBot(p, login); got != want {
			t.Errorf("IsBot(%q) = %v, want %v", login, got, want)
		}
	}
}

func TestChangeFinding(t *testing.T) {
	prChange := model.Change{Kind: model.KindPullRequest, Repo: "acme/pay", Number: 7, OccurredAt: merged,
		URL: "u", Author: "alice", MergedBy: "bob", HeadSHA: sha1, MergeCommitSHA: sha2, Labels: []string{"hotfix"}}
	f := ChangeFinding("CM-9", prChange)
	if f.Rule != "CM-9" || f.Subject != "acme/pay#7" || f.Repo != "acme/pay" || !f.OccurredAt.Equal(merged) ||
		f.Evidence.URL != "u" || f.Evidence.Author != "alice" || f.Evidence.MergedBy != "bob" ||
		f.Evidence.HeadSHA != sha1 || f.Evidence.MergeCommitSHA != sha2 || !slices.Equal(f.Evidence.Labels, []string{"hotfix"}) ||
		f.Evidence.SHA != "" || f.Evidence.Pusher != "" {
		t.Errorf("pull request finding = %+v", f)
	}
	f = ChangeFinding("CM-9", model.Change{Kind: model.KindDirectPush, Repo: "acme/pay", SHA: sha1, Pusher: "mallory"})
	if f.Subject != "acme/pay@"+sha1 || f.Evidence.SHA != sha1 || f.Evidence.Pusher != "mallory" || f.Evidence.Author != "" {
		t.Errorf("direct push finding = %+v", f)
	}
	if f := ChangeFinding("CM-9", model.Change{Subject: "given", Kind: model.KindDirectPush}); f.Subject != "given" {
		t.Errorf("derived subject not kept: %q", f.Subject)
	}
}

func TestValidateDefinition(t *testing.T) {
	d := Definition{ID: "CM-9", Name: "n", Question: "q", Subjects: "s", Remediation: "r",
		Outcomes:    map[model.Outcome]string{model.Pass: "p", model.Fail: "f", model.Waived: "w"},
		Evidence:    []Evidence{EvidencePullRequests},
		Populations: []Population{PopulationChanges}}
	if err := ValidateDefinition(d, model.Pass, model.Fail, model.Pass); err != nil {
		t.Errorf("valid definition: %v", err)
	}
	if err := ValidateDefinition(d, model.Pass); err == nil || err.Error() != `CM-9: outcome "fail" is documented but never given` {
		t.Errorf("undocumented given outcome: %v", err)
	}
	if err := ValidateDefinition(d, model.Pass, model.Fail, model.Pending); err == nil ||
		err.Error() != `CM-9: outcome "pending" is given but not documented` {
		t.Errorf("given undocumented outcome: %v", err)
	}
	d.Question = ""
	if err := ValidateDefinition(d, model.Pass, model.Fail); err == nil || err.Error() != "CM-9: empty Question" {
		t.Errorf("empty field: %v", err)
	}
	d.Question, d.Evidence, d.DependsOn = "q", nil, []string{"CM-9"}
	if err := ValidateDefinition(d, model.Pass, model.Fail); err == nil ||
		err.Error() != "CM-9: no Evidence: say what the control reads\nCM-9: DependsOn names the control itself" {
		t.Errorf("no evidence, self dependency: %v", err)
	}
}
