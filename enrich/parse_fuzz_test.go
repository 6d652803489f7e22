package enrich_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/changeproof/changeproof/enrich"
	"github.com/changeproof/changeproof/internal/testkit/fixture"
	"github.com/changeproof/changeproof/model"
)

// ParseGitHub never panics on a signed body; a body it derives records
// from is JSON encoding/json accepts; a refusal is ErrMalformed; and no
// record names a repository that is not owner/name without control
// characters. Seeds: the recorded @octokit/webhooks-examples payloads.
func FuzzParseGitHub(f *testing.F) {
	for _, name := range fixture.Templates() {
		event, _, _ := strings.Cut(name, ".")
		f.Add(event, fixture.Template(name))
	}
	f.Add("push", []byte(`{"ref":"refs/heads/main","repository":{"full_name":"a/b\n","default_branch":"main"}}`))
	f.Add("pull_request", []byte(`{"action":"closed","pull_request":{"number":1},"repository":{"full_name":"a/b","default_branch":"main"}}`))
	f.Fuzz(func(t *testing.T, event string, body []byte) {
		var b model.Batch
		err := enrich.ParseGitHub(model.Delivery{Source: "github", Event: event, DeliveryID: "d-fuzz", Body: body}, &b)
		if err != nil {
			if !errors.Is(err, enrich.ErrMalformed) {
				t.Fatalf("%s %q: error %v does not wrap ErrMalformed", event, body, err)
			}
			return
		}
		repos := b.Repos()
		if len(repos) > 0 && !json.Valid(body) {
			t.Fatalf("%s %q: records derived from a body encoding/json refuses", event, body)
		}
		for _, r := range repos {
			owner, name, ok := strings.Cut(r, "/")
			if !ok || owner == "" || name == "" || strings.ContainsFunc(r, func(c rune) bool { return c < ' ' || c == 0x7f }) {
				t.Fatalf("%s: record with repository %q", event, r)
			}
		}
	})
}
