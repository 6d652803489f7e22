package deploy

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/changeproof/changeproof/model"
)

// collect runs Read and returns every emitted batch.
func collect(t *testing.T, input string, batchSize int) ([][]model.Deploy, int, []Rejected) {
	t.Helper()
	var batches [][]model.Deploy
	n, rej, err := Read(strings.NewReader(input), testOptions(), batchSize, func(ds []model.Deploy) error {
		batches = append(batches, ds)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return batches, n, rej
}

func ids(batches [][]model.Deploy) []string {
	var out []string
	for _, b := range batches {
		for _, d := range b {
			out = append(out, d.ID)
		}
	}
	return out
}

func line(id string) string { return deployJSON(map[string]string{"id": `"` + id + `"`}) }

func TestReadSingleObject(t *testing.T) {
	batches, n, rej := collect(t, line("only"), 10)
	if n != 1 || len(rej) != 0 || !reflect.DeepEqual(ids(batches), []string{"only"}) {
		t.Fatalf("n=%d rej=%v ids=%v", n, rej, ids(batches))
	}
}

func TestReadPrettyPrinted(t *testing.T) {
	input := `
{
  "id": "pretty-1",
  "service": "payments",
  "environment": "production",
  "sha": "` + goodSHA + `",
  "status": "success",
  "actor": "alice",
  "started_at": "2026-03-02T10:00:00Z",
  "finished_at": "2026-03-02T10:05:00Z",
  "pipeline": "brace } in a string { \" and a quote"
}
`
	batches, n, rej := collect(t, input, 10)
	if n != 1 || len(rej) != 0 {
		t.Fatalf("n=%d rej=%v", n, rej)
	}
	d := batches[0][0]
	if d.ID != "pretty-1" || d.Pipeline != `brace } in a string { " and a quote` || d.Repo != "acme/payments" {
		t.Errorf("got %+v", d)
	}
}

func TestReadPrettyPrintedCRLFAndFollowingLines(t *testing.T) {
	input := "{\r\n  \"id\": \"p1\",\r\n  \"service\": \"payments\",\r\n  \"environment\": \"prod\",\r\n" +
		"  \"sha\": \"" + goodSHA + "\",\r\n  \"status\": \"in_progress\",\r\n  \"actor\": \"ci\",\r\n" +
		"  \"started_at\": \"2026-03-02T10:00:00Z\"\r\n}\r\n" +
		line("after") + "\r\n"
	batches, n, rej := collect(t, input, 10)
	if n != 2 || len(rej) != 0 || !reflect.DeepEqual(ids(batches), []string{"p1", "after"}) {
		t.Fatalf("n=%d rej=%v ids=%v", n, rej, ids(batches))
	}
}

func TestReadPrettyPrintedBad(t *testing.T) {
	// Line 2 starts an object whose field is wrong; line 6 starts an object
	// with an unterminated string, which ends it at once (strings cannot
	// span lines), so line 8 is still read as its own line.
	input := line("a") + "\n" +
		"{\n  \"id\": \"b\",\n  \"sha\": \"abc\"\n}\n" +
		"{\n  \"id\": \"c\n" +
		line("d") + "\n" +
		"{\n  \"id\": \"e\",\n"
	batches, n, rej := collect(t, input, 10)
	if n != 2 || !reflect.DeepEqual(ids(batches), []string{"a", "d"}) {
		t.Fatalf("n=%d ids=%v", n, ids(batches))
	}
	want := []Rejected{
		{2, `service: required; environment: required; sha: must be 40 hex characters, got "abc"; status: required; actor: required; started_at: required`},
		{6, `not JSON: invalid character '\n' in string literal`},
		{9, `not JSON: unexpected end of JSON input`},
	}
	if !reflect.DeepEqual(rej, want) {
		t.Errorf("rejected\n got  %+v\n want %+v", rej, want)
	}
}

func TestReadNDJSONMixed(t *testing.T) {
	input := strings.Join([]string{
		line("d1"),
		"",
		deployJSON(map[string]string{"id": `"bad-sha"`, "sha": `"abc"`}),
		line("d2"),
		`not json at all`,
		"   \t",
		line("d3"),
		deployJSON(map[string]string{"id": `"bad-field"`, "shaa": `"x"`}),
		line("d4"),
		line("d5"),
	}, "\n") + "\n"
	batches, n, rej := collect(t, input, 2)
	if n != 5 {
		t.Errorf("accepted = %d, want 5", n)
	}
	if got := ids(batches); !reflect.DeepEqual(got, []string{"d1", "d2", "d3", "d4", "d5"}) {
		t.Errorf("ids = %v", got)
	}
	for i, b := range batches {
		if len(b) > 2 {
			t.Errorf("batch %d has %d deploys, max 2", i, len(b))
		}
	}
	if len(batches) != 3 {
		t.Errorf("%d batches, want 3", len(batches))
	}
	want := []Rejected{
		{3, `sha: must be 40 hex characters, got "abc"`},
		{5, `not JSON: invalid character 'o' in literal null (expecting 'u')`},
		{8, `unknown field "shaa"`},
	}
	if !reflect.DeepEqual(rej, want) {
		t.Errorf("rejected\n got  %+v\n want %+v", rej, want)
	}
}

func TestReadNoTrailingNewline(t *testing.T) {
	batches, n, rej := collect(t, line("x")+"\n"+line("y"), 10)
	if n != 2 || len(rej) != 0 || !reflect.DeepEqual(ids(batches), []string{"x", "y"}) {
		t.Fatalf("n=%d rej=%v ids=%v", n, rej, ids(batches))
	}
}

func TestReadEmpty(t *testing.T) {
	batches, n, rej := collect(t, "\n\n  \n", 10)
	if n != 0 || len(rej) != 0 || len(batches) != 0 {
		t.Fatalf("n=%d rej=%v batches=%d", n, rej, len(batches))
	}
}

func TestReadEmitErrorStops(t *testing.T) {
	var input strings.Builder
	for i := range 10 {
		input.WriteString(line(fmt.Sprint("d", i)) + "\n")
	}
	input.WriteString("garbage\n")
	boom := errors.New("store down")
	calls := 0
	n, rej, err := Read(strings.NewReader(input.String()), testOptions(), 3, func(ds []model.Deploy) error {
		calls++
		if calls == 2 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want %v", err, boom)
	}
	if n != 3 || calls != 2 {
		t.Errorf("accepted=%d calls=%d, want 3 and 2", n, calls)
	}
	if len(rej) != 0 {
		t.Errorf("read past the failed emit: rejected %v", rej)
	}
}

func TestReadLongLine(t *testing.T) {
	long := `{"id":"` + strings.Repeat("x", MaxLineBytes) + `"}`
	input := line("a") + "\n" + long + "\n" + line("b") + "\n"
	batches, n, rej := collect(t, input, 10)
	if n != 2 || !reflect.DeepEqual(ids(batches), []string{"a", "b"}) {
		t.Fatalf("n=%d ids=%v", n, ids(batches))
	}
	want := []Rejected{{2, "line too long: over 1048576 bytes"}}
	if !reflect.DeepEqual(rej, want) {
		t.Errorf("rejected %+v, want %+v", rej, want)
	}
}

func TestReadLongPrettyObject(t *testing.T) {
	var b strings.Builder
	b.WriteString("{\n")
	for i := 0; b.Len() <= MaxLineBytes; i++ {
		fmt.Fprintf(&b, "  \"k%d\": \"%s\",\n", i, strings.Repeat("v", 1000))
	}
	b.WriteString("  \"end\": 1\n}\n")
	input := b.String() + line("after") + "\n"
	batches, n, rej := collect(t, input, 10)
	// The over-long object is rejected once, at its first line, and read to
	// its end without being kept; the line after it is read normally.
	if n != 1 || !reflect.DeepEqual(ids(batches), []string{"after"}) {
		t.Fatalf("n=%d ids=%v", n, ids(batches))
	}
	want := []Rejected{{1, "object too long: over 1048576 bytes"}}
	if !reflect.DeepEqual(rej, want) {
		t.Errorf("rejected %+v, want %+v", rej, want)
	}
}

func TestReadBatchSizeDefault(t *testing.T) {
	var input strings.Builder
	for i := range 2500 {
		input.WriteString(line(fmt.Sprint("d", i)) + "\n")
	}
	var sizes []int
	n, _, err := Read(strings.NewReader(input.String()), testOptions(), 0, func(ds []model.Deploy) error {
		sizes = append(sizes, len(ds))
		return nil
	})
	if err != nil || n != 2500 || !reflect.DeepEqual(sizes, []int{1000, 1000, 500}) {
		t.Fatalf("n=%d err=%v sizes=%v", n, err, sizes)
	}
}

func TestReadReaderError(t *testing.T) {
	boom := errors.New("connection reset")
	input := line("a") + "\n" + line("b") + "\n"
	var got []string
	n, _, err := Read(&failAfter{data: input, err: boom}, testOptions(), 10, func(ds []model.Deploy) error {
		for _, d := range ds {
			got = append(got, d.ID)
		}
		return nil
	})
	if !errors.Is(err, boom) || err.Error() != "reading line 3: connection reset" {
		t.Fatalf("err = %v", err)
	}
	if n != 2 || !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Errorf("n=%d got=%v", n, got)
	}
}

// failAfter returns data, then err.
type failAfter struct {
	data string
	err  error
}

func (f *failAfter) Read(p []byte) (int, error) {
	if f.data == "" {
		return 0, f.err
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}

func TestReadByteOrderMark(t *testing.T) {
	batches, n, rej := collect(t, "\xef\xbb\xbf"+line("bom")+"\n", 10)
	if n != 1 || len(rej) != 0 || !reflect.DeepEqual(ids(batches), []string{"bom"}) {
		t.Fatalf("n=%d rej=%v ids=%v", n, rej, ids(batches))
	}
}
