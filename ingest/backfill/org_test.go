package backfill

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
)

// TestOrgRepos pages through GET /orgs/{org}/repos (Link pagination, as
// GitHub sends it), skips archived repositories, and on a re-run is served
// from the ETag cache.
func TestOrgRepos(t *testing.T) {
	var requests, notModified int
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests++
		if r.URL.Path != "/orgs/acme/repos" {
			http.NotFound(w, r)
			return
		}
		page := r.URL.Query().Get("page")
		etag := `"p` + page + `"`
		if r.Header.Get("If-None-Match") == etag {
			notModified++
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", etag)
		w.Header().Set("Content-Type", "application/json")
		if page == "" || page == "1" {
			w.Header().Set("Link", fmt.Sprintf(`<%s/orgs/acme/repos?page=2&per_page=100&type=all>; rel="next"`, srv.URL))
			fmt.Fprint(w, `[{"full_name":"acme/payments-api","archived":false},{"full_name":"acme/old","archived":true}]`)
			return
		}
		fmt.Fprint(w, `[{"full_name":"acme/ledger","archived":false}]`)
	}))
	defer srv.Close()
	st := &MemState{}
	o := Options{BaseURL: srv.URL, Token: "t"}
	for run := 1; run <= 2; run++ {
		got, err := OrgRepos(context.Background(), o, st, "acme")
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"acme/payments-api", "acme/ledger"}; !reflect.DeepEqual(got, want) {
			t.Fatalf("run %d: %v, want %v", run, got, want)
		}
	}
	if requests != 4 || notModified != 2 {
		t.Fatalf("%d requests, %d answered 304; want 4 and 2 (the re-run costs only 304s)", requests, notModified)
	}
	if _, err := OrgRepos(context.Background(), o, st, "nope"); err == nil || !strings.Contains(err.Error(), "list repositories of nope") {
		t.Fatalf("unknown org: %v", err)
	}
}
