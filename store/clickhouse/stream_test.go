package clickhouse

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2/lib/proto"

	"github.com/changeproof/changeproof/store"
)

func TestStreamRows(t *testing.T) {
	c := &fakeConn{}
	c.result = func(q string) (*proto.Block, error) {
		if strings.Contains(q, "numbers") {
			return resultBlock(t, []string{"n UInt64"}, []any{uint64(1)}), nil
		}
		return resultBlock(t, []string{"subject String", "outcome LowCardinality(String)"},
			[]any{"acme/api#1", "pass"}, []any{"acme/api#2", ""}, []any{"acme/api#3", "fail"}), nil
	}
	db := newTestDB(c)
	var got [][]string
	err := db.StreamRows(context.Background(), "SELECT subject, outcome FROM x WHERE a = {a:String}", store.Params{"a": "b"},
		func(row []string) error {
			got = append(got, append([]string(nil), row...))
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"acme/api#1", "pass"}, {"acme/api#2", ""}, {"acme/api#3", "fail"}}
	if !reflect.DeepEqual(got, want) || c.queries[0].params["a"] != "b" {
		t.Errorf("rows %v, params %v", got, c.queries[0].params)
	}
	stop := errors.New("stop")
	n := 0
	if err := db.StreamRows(context.Background(), "SELECT subject, outcome FROM x", nil, func([]string) error {
		n++
		return stop
	}); !errors.Is(err, stop) || n != 1 {
		t.Errorf("stopping: %v after %d rows", err, n)
	}
	if err := db.StreamRows(context.Background(), "SELECT number FROM numbers(1)", nil, func([]string) error { return nil }); err == nil ||
		!strings.Contains(err.Error(), "String") {
		t.Errorf("a UInt64 column: %v", err)
	}
}
