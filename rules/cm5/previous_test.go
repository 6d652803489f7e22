package cm5

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/changeproof/changeproof/model"
)

// TestPredecessorsAreTheScan: the indexed previous answers what scanning
// every deploy answers, with services in several cases, deploys at the
// same time, numeric and other ids, and commits on and off the chain.
func TestPredecessorsAreTheScan(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	ch := newChain(&model.RepoEvidence{Repo: repo, Pushes: chainOf(1, 2, 3, 4, 5, 6, 7, 8), MergeCommits: map[string]int{}})
	services := []string{"api", "API", "Api", "web", "ſvc", "SVC", "svc", "K", "\u212a"}
	ids := []string{"1", "2", "9", "10", "11", "1a", "b", "x10"}
	for round := 0; round < 300; round++ {
		var deploys []model.Deploy
		seen := map[string]bool{}
		for i := rng.IntN(12); i >= 0; i-- {
			d := model.Deploy{ID: ids[rng.IntN(len(ids))], Source: []string{"api", "github"}[rng.IntN(2)],
				Service: services[rng.IntN(len(services))], Environment: "production", Status: "success",
				SHA: sha(rng.IntN(10)), FinishedAt: t0.Add(time.Duration(rng.IntN(round%5+2)) * time.Minute)}
			if rng.IntN(8) == 0 {
				d.SHA = ""
			}
			if rng.IntN(6) == 0 {
				d.SHA = strings.ToUpper(d.SHA)
			}
			if seen[d.Subject()] {
				continue // productionDeploys keeps one deploy per subject
			}
			seen[d.Subject()] = true
			deploys = append(deploys, d)
		}
		p := newPredecessors(ch, deploys)
		for i, d := range deploys {
			want, wantOK := previous(ch, deploys, d)
			got, ok := p.previous(i)
			if ok != wantOK || got != want {
				t.Fatalf("round %d, deploy %d %+v:\n got %v %+v\nwant %v %+v\nof %+v", round, i, d, ok, got, wantOK, want, deploys)
			}
		}
	}
}

func TestFoldKeyIsEqualFold(t *testing.T) {
	words := []string{"", "a", "A", "k", "K", "\u212a", "s", "S", "ſ", "ß", "ẞ", "σ", "Σ", "ς", "İ", "i", "ı", "I",
		"\xff", "\xfe", "\ufffd", "é", "É", "e\u0301"}
	rng := rand.New(rand.NewPCG(5, 6))
	word := func() string {
		var b strings.Builder
		for i := rng.IntN(4); i >= 0; i-- {
			b.WriteString(words[rng.IntN(len(words))])
		}
		return b.String()
	}
	for i := 0; i < 20000; i++ {
		a, b := word(), word()
		if got, want := foldKey(a) == foldKey(b), strings.EqualFold(a, b); got != want {
			t.Fatalf("foldKey(%q) == foldKey(%q) is %v, EqualFold says %v", a, b, got, want)
		}
	}
	if fmt.Sprint(foldKey("Svc-a")) != "SVC-A" {
		t.Errorf("foldKey(Svc-a) = %q", foldKey("Svc-a"))
	}
}
