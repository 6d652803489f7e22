package chdb_test

import (
	"context"
	"testing"

	"github.com/changeproof/changeproof/store"
	"github.com/changeproof/changeproof/store/storetest"
)

// Parameter values reach the engine literally: no escape sequences, and no
// value makes the query fail.
func TestParamsAreLiteral(t *testing.T) {
	db := storetest.OpenDB(t)
	for _, v := range []string{`a\/b`, `x\`, `\\`, `\n`, "tab\there", "line\nbreak", "cr\r", "nul\x00", `it's`, `{v:String}`, "ünï ☃", ""} {
		var got []struct {
			S string `json:"s"`
		}
		if err := db.Query(context.Background(), "SELECT {v:String} AS s", store.Params{"v": v}, &got); err != nil {
			t.Errorf("%q: %v", v, err)
			continue
		}
		if len(got) != 1 || got[0].S != v {
			t.Errorf("%q came back as %q", v, got)
		}
	}
}

// Array(String) parameters, rendered by store.ArrayParam, are literal too.
func TestArrayParamsAreLiteral(t *testing.T) {
	db := storetest.OpenDB(t)
	want := []string{`a\/b`, `x\`, `it's`, "tab\there", "nl\n"}
	var got []struct {
		S string `json:"s"`
	}
	if err := db.Query(context.Background(), "SELECT arrayJoin({v:Array(String)}) AS s", store.Params{"v": store.ArrayParam(want)}, &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("got %q", got)
	}
	for i := range want {
		if got[i].S != want[i] {
			t.Errorf("%q came back as %q", want[i], got[i].S)
		}
	}
}
