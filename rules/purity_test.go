package rules_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/rules"
	"github.com/changeproof/changeproof/rules/change"
	"github.com/changeproof/changeproof/store/storetest"
)

// deepCopy copies v with every slice, map and pointer it reaches
// duplicated, so that a change a control makes through any of them is seen
// against the copy. Unexported fields (time.Time's location) are shared:
// nothing can change them from outside their package.
func deepCopy(v reflect.Value) reflect.Value {
	switch v.Kind() {
	case reflect.Slice:
		if v.IsNil() {
			return v
		}
		out := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := range v.Len() {
			out.Index(i).Set(deepCopy(v.Index(i)))
		}
		return out
	case reflect.Map:
		if v.IsNil() {
			return v
		}
		out := reflect.MakeMapWithSize(v.Type(), v.Len())
		for it := v.MapRange(); it.Next(); {
			out.SetMapIndex(deepCopy(it.Key()), deepCopy(it.Value()))
		}
		return out
	case reflect.Pointer:
		if v.IsNil() {
			return v
		}
		out := reflect.New(v.Type().Elem())
		out.Elem().Set(deepCopy(v.Elem()))
		return out
	case reflect.Struct:
		out := reflect.New(v.Type()).Elem()
		out.Set(v)
		for i := range v.NumField() {
			if out.Field(i).CanSet() {
				out.Field(i).Set(deepCopy(v.Field(i)))
			}
		}
		return out
	}
	return v
}

func copyOf[T any](x T) T { return deepCopy(reflect.ValueOf(x)).Interface().(T) }

// TestControlsArePure runs every built-in control twice, in evaluation
// order, over evidence that makes each give findings: the evidence it was
// given is unchanged afterwards (compared with a deep copy taken before),
// and the second run on a fresh copy gives the same verdicts. A control
// that sorted, trimmed or filled in its evidence, or kept state between
// runs, fails here.
func TestControlsArePure(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	if err := st.Write(ctx, scaleHistory()); err != nil {
		t.Fatal(err)
	}
	repos, err := st.Repos(ctx)
	if err != nil {
		t.Fatal(err)
	}
	env := scaleEnv(at(100))
	env.Policy.RequiredChecks = []string{"ci/test"} // CM-7 judges too
	env.Now = at(60 * 24)
	judged := map[string]int{}
	for _, repo := range repos {
		ev, err := st.RepoEvidence(ctx, repo)
		if err != nil {
			t.Fatal(err)
		}
		change.Derive(ev)
		pristine := copyOf(ev)
		env := env
		env.Prior = map[string]map[string]model.Finding{}
		for _, c := range rules.Builtin() {
			id := c.Definition().ID
			first := c.Check(env.WithMemo(), ev)
			if !reflect.DeepEqual(ev, pristine) {
				t.Fatalf("%s changed the evidence of %s it was given", id, repo)
			}
			second := c.Check(env.WithMemo(), copyOf(pristine))
			if !reflect.DeepEqual(first, second) {
				t.Fatalf("%s on %s: a second run on the same evidence gave other verdicts", id, repo)
			}
			judged[id] += len(first)
			for _, f := range first {
				if env.Prior[f.Subject] == nil {
					env.Prior[f.Subject] = map[string]model.Finding{}
				}
				env.Prior[f.Subject][f.Rule] = f
			}
		}
	}
	events := scaleAccess()
	for _, c := range rules.BuiltinAccess() {
		id := c.Definition().ID
		ev := &model.AccessEvidence{System: "db", Events: copyOf(events)}
		pristine := copyOf(ev)
		first := c.CheckAccess(env, ev)
		if !reflect.DeepEqual(ev, pristine) {
			t.Fatalf("%s changed the access evidence it was given", id)
		}
		if second := c.CheckAccess(env, copyOf(pristine)); !reflect.DeepEqual(first, second) {
			t.Fatalf("%s: a second run on the same events gave other verdicts", id)
		}
		judged[id] += len(first)
	}
	// Every control must have judged something, or this proves nothing
	// about it.
	for _, d := range rules.Catalogue() {
		if judged[d.ID] == 0 {
			t.Errorf("%s gave no finding on the test evidence: extend it", d.ID)
		}
	}
}
