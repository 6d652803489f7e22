package rules

import (
	"slices"
	"strings"
	"testing"

	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/rules/control"
)

// fakeControl is a throwaway repository control with only a definition.
type fakeControl struct{ d control.Definition }

func (c fakeControl) Definition() control.Definition { return c.d }
func (fakeControl) Check(control.Env, *model.RepoEvidence) []model.Finding {
	return nil
}

func fake(id string, deps ...string) fakeControl {
	return fakeControl{control.Definition{ID: id, DependsOn: deps}}
}

func TestEvaluationOrderPutsDependenciesFirst(t *testing.T) {
	got, err := evaluationOrder(registry)
	if err != nil {
		t.Fatal(err)
	}
	ids := idsOf(got)
	// CM-5 reads CM-1..CM-3 and CM-7 from Env.Prior: it must come after
	// each; the rest keep catalogue order.
	want := []string{"CM-1", "CM-2", "CM-3", "CM-4", "CM-6", "CM-7", "CM-5", "AC-3"}
	if !slices.Equal(ids, want) {
		t.Fatalf("evaluation order %v, want %v", ids, want)
	}
	for i, c := range got {
		for _, dep := range c.Definition().DependsOn {
			if j := slices.Index(ids, dep); j > i {
				t.Errorf("%s evaluated before %s, which it depends on", ids[i], dep)
			}
		}
	}
}

func TestEvaluationOrderRefusesBadDependencies(t *testing.T) {
	for _, c := range []struct {
		name string
		defs []control.Definer
		want string
	}{
		{"cycle", []control.Definer{fake("X-1", "X-2"), fake("X-2", "X-1"), fake("X-3")},
			"controls [X-1 X-2] depend on each other in a cycle"},
		{"unknown", []control.Definer{fake("X-1", "X-9")},
			"control X-1 depends on X-9, which is not a control over repository evidence"},
	} {
		_, err := evaluationOrder(c.defs)
		if err == nil || err.Error() != c.want {
			t.Errorf("%s: got %v, want %q", c.name, err, c.want)
		}
	}
}

// TestNewControlIsOneRegistryLine shows what adding a control takes: a
// folder with its definition and check, and one line in registry. Its
// definition alone puts it in the catalogue, the evaluation order, its
// population's columns and the alert policy.
func TestNewControlIsOneRegistryLine(t *testing.T) {
	saved := registry
	defer func() { registry = saved }()
	x := fake("CM-8", "CM-5")
	x.d.Name, x.d.Alert = "throwaway", control.AlertOnFail
	x.d.Populations = []control.Population{control.PopulationChanges}
	registry = append(slices.Clone(registry), x)

	if d, ok := Lookup("CM-8"); !ok || d.Name != "throwaway" {
		t.Fatalf("Lookup(CM-8) = %+v, %v", d, ok)
	}
	if ids := idsOf(Builtin()); ids[len(ids)-1] != "CM-8" || slices.Index(ids, "CM-5") > slices.Index(ids, "CM-8") {
		t.Errorf("evaluation order %v: CM-8 must follow CM-5", ids)
	}
	if cols := InPopulation(control.PopulationChanges); cols[len(cols)-1] != "CM-8" {
		t.Errorf("changes columns %v lack CM-8", cols)
	}
	if !strings.Contains(CatalogMarkdown(), "### CM-8 `throwaway`") {
		t.Error("the catalogue does not show CM-8")
	}
}
