package jsonscan

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/changeproof/changeproof/internal/testkit/fixture"
)

var validCases = []string{
	``, ` `, `{}`, `[]`, `null`, `true`, `false`, `0`, `-0`, `01`, `-`, `1.`, `1.5`, `1e5`, `1E+5`, `1e`, `-1.5e-3`,
	`"a"`, `"\u00e9"`, `"\u00g9"`, `"\x"`, `"a` + "\x01" + `"`, `"tab	"`, `"\/\b\f\n\r\t\"\\"`, `"é"`, "\"\xff\"",
	`{"a":1}`, `{"a":1,}`, `{"a" 1}`, `{a:1}`, `{"a":1}}`, `[1,2,]`, `[1 2]`, `[[[]]]`, `[{"a":[{"b":null}]}]`,
	` {"a" : [ 1 , 2 ] } `, `{"a":1} x`, `{"a":1}{}`, `nul`, `tru`, `fals`, `"unterminated`, `{"a":"b\"}`,
	`{"a":"` + strings.Repeat("x\"", 40) + `"}`, `{"k":"` + strings.Repeat("abcdefg", 20) + `\u0041"}`,
	strings.Repeat("[", 10000) + strings.Repeat("]", 10000), strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
}

func TestValidMatchesEncodingJSON(t *testing.T) {
	for _, c := range validCases {
		if got, want := Valid([]byte(c)), json.Valid([]byte(c)); got != want {
			t.Errorf("Valid(%.60q) = %v, json.Valid says %v", c, got, want)
		}
	}
	for _, name := range fixture.Templates() {
		b := fixture.Template(name)
		if !Valid(b) {
			t.Errorf("template %s is not valid", name)
		}
		// Every prefix of a document is invalid, as encoding/json finds.
		for _, n := range []int{1, len(b) / 3, len(b) - 1} {
			if got, want := Valid(b[:n]), json.Valid(b[:n]); got != want {
				t.Errorf("%s[:%d]: Valid = %v, json.Valid %v", name, n, got, want)
			}
		}
	}
}

func FuzzValid(f *testing.F) {
	for _, c := range validCases[:len(validCases)-2] {
		f.Add([]byte(c))
	}
	f.Add(fixture.Template(fixture.TemplatePush))
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := Valid(b), json.Valid(b); got != want {
			t.Fatalf("Valid(%q) = %v, json.Valid says %v", b, got, want)
		}
	})
}

type sample struct {
	Name  string     `json:"name"`
	N     int64      `json:"n"`
	On    bool       `json:"on"`
	At    *time.Time `json:"at"`
	Items []struct {
		ID string `json:"id"`
	} `json:"items"`
	Raw json.RawMessage `json:"raw"`
}

// readSample reads sample the fast way; ok false means "use encoding/json".
func readSample(b []byte) (s sample, ok bool) {
	r := New(b)
	r.Object([]string{"name", "n", "on", "at", "items", "raw"}, func(k int) {
		switch k {
		case 0:
			s.Name, _ = r.String()
		case 1:
			s.N = r.Int()
		case 2:
			s.On = r.Bool()
		case 3:
			s.At = r.Time()
		case 4:
			s.Items = make([]struct {
				ID string `json:"id"`
			}, 0)
			if !r.Array(func() {
				var it struct {
					ID string `json:"id"`
				}
				r.Object([]string{"id"}, func(int) { it.ID, _ = r.String() })
				s.Items = append(s.Items, it)
			}) {
				s.Items = nil
			}
		case 5:
			s.Raw = r.Raw()
		}
	})
	r.End()
	return s, !r.Failed()
}

var readerCases = []string{
	`{"name":"a","n":5,"on":true,"at":"2026-01-02T03:04:05Z","items":[{"id":"x"},{"id":"y","z":[1]}],"raw":123}`,
	`{"name":"caf\u00e9","n":-7,"on":false,"at":null,"items":null,"raw":null}`,
	`{"name":null,"n":null,"on":null,"items":[],"other":{"deep":[{"x":"y"}]}}`,
	`{"name":"a","name":"b"}`, `{"Name":"a"}`, `{"NAME":"a","n":1}`, `{"nAme":1}`, `{"\u006eame":"x"}`,
	`{"n":1.5}`, `{"n":1e3}`, `{"n":"1"}`, `{"n":99999999999999999999}`, `{"on":"true"}`, `{"at":"yesterday"}`,
	`{"at":5}`, `{"items":{}}`, `{"items":[null]}`, `{"items":[1]}`, `[]`, `null`, `"x"`, `{"name":"a"} x`,
	`{"name":"\ud800"}`, "{\"name\":\"\xff\"}", `{"name":"tab\t"}`, ` { "name" : "sp" , "n" : 2 } `,
	`{"other":[1,2,{"a":}]}`, `{"ſ":1}`, `{"K":1}`,
}

// TestReaderMatchesEncodingJSON: whenever the fast reader succeeds, its
// result is encoding/json's; whenever encoding/json fails, so does it.
func TestReaderMatchesEncodingJSON(t *testing.T) {
	for _, c := range readerCases {
		checkReader(t, []byte(c))
	}
}

func checkReader(t *testing.T, b []byte) {
	t.Helper()
	got, ok := readSample(b)
	var want sample
	err := json.Unmarshal(b, &want)
	if !ok {
		return // encoding/json decides
	}
	if err != nil {
		t.Fatalf("%q: fast reader succeeded, encoding/json failed: %v", b, err)
	}
	gj, _ := json.Marshal(got)
	wj, _ := json.Marshal(want)
	if string(gj) != string(wj) {
		t.Fatalf("%q:\n fast %s\n json %s", b, gj, wj)
	}
}

func FuzzReader(f *testing.F) {
	for _, c := range readerCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkReader(t, b) })
}

func BenchmarkValid(b *testing.B) {
	body := fixture.Template(fixture.TemplatePullRequestClosed)
	b.Run("jsonscan", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			Valid(body)
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			json.Valid(body)
		}
	})
}
