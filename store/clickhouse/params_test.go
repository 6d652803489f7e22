package clickhouse

import (
	"context"
	"testing"

	"github.com/changeproof/changeproof/store"
)

// String parameters go to the server escaped, so that its escaped-format
// parse gives back the value the caller meant.
func TestStringParamsSentLiteral(t *testing.T) {
	c := &fakeConn{}
	db := newTestDB(c)
	var rows []struct {
		N int `json:"n"`
	}
	if err := db.Query(context.Background(), "SELECT 1 AS n WHERE repo = {repo:String}", store.Params{"repo": `a\/b`}, &rows); err != nil {
		t.Fatal(err)
	}
	if got := c.queries[0].params["repo"]; got != `a\\/b` {
		t.Errorf("sent %q, want a\\\\/b", got)
	}
}
