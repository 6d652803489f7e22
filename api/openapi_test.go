package api_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/changeproof/changeproof/api"
	"github.com/changeproof/changeproof/api/ui"
	"github.com/changeproof/changeproof/audit/report"
	"github.com/changeproof/changeproof/ingest"
	"github.com/changeproof/changeproof/ingest/access"
	"github.com/changeproof/changeproof/ingest/deploy"
	"github.com/changeproof/changeproof/ingest/github"
	"github.com/changeproof/changeproof/model"
)

const specURL = "https://changeproof.invalid/openapi.json"

// openAPISpec is the served document, compiled for validating answers.
type openAPISpec struct {
	doc   map[string]any
	c     *jsonschema.Compiler
	cache map[string]*jsonschema.Schema
}

func loadOpenAPI(t *testing.T, body []byte) *openAPISpec {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("the document is not JSON: %v", err)
	}
	m, _ := doc.(map[string]any)
	if v, _ := m["openapi"].(string); !strings.HasPrefix(v, "3.1.") {
		t.Fatalf("openapi %q, want 3.1.x", m["openapi"])
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource(specURL, doc); err != nil {
		t.Fatal(err)
	}
	// Every component schema compiles (a typo in a $ref fails here).
	schemas, _ := m["components"].(map[string]any)["schemas"].(map[string]any)
	for name := range schemas {
		if _, err := c.Compile(specURL + "#/components/schemas/" + name); err != nil {
			t.Errorf("schema %s: %v", name, err)
		}
	}
	return &openAPISpec{doc: m, c: c, cache: map[string]*jsonschema.Schema{}}
}

func pointerToken(s string) string {
	s = strings.NewReplacer("~", "~0", "/", "~1").Replace(s)
	return url.PathEscape(s)
}

// operation returns the document's operation for a path template.
func (s *openAPISpec) operation(path, method string) map[string]any {
	p, _ := s.doc["paths"].(map[string]any)[path].(map[string]any)
	op, _ := p[strings.ToLower(method)].(map[string]any)
	return op
}

// schema compiles the schema of one documented response.
func (s *openAPISpec) schema(t *testing.T, path, method string, code int, ctype string) *jsonschema.Schema {
	t.Helper()
	op := s.operation(path, method)
	if op == nil {
		t.Fatalf("%s %s is not documented", method, path)
	}
	resp, _ := op["responses"].(map[string]any)[strconv.Itoa(code)].(map[string]any)
	if resp == nil {
		t.Fatalf("%s %s: status %d is not documented", method, path, code)
	}
	content, _ := resp["content"].(map[string]any)
	if _, ok := content[ctype]; !ok {
		t.Fatalf("%s %s %d: content type %s is not documented (documented: %v)", method, path, code, ctype, keysOf(content))
	}
	ptr := "#/paths/" + pointerToken(path) + "/" + strings.ToLower(method) + "/responses/" + strconv.Itoa(code) +
		"/content/" + pointerToken(ctype) + "/schema"
	if sch, ok := s.cache[ptr]; ok {
		return sch
	}
	sch, err := s.c.Compile(specURL + ptr)
	if err != nil {
		t.Fatalf("%s: %v", ptr, err)
	}
	s.cache[ptr] = sch
	return sch
}

// requestSchema compiles an operation's documented request body schema for
// ctype; nil when the operation documents none.
func (s *openAPISpec) requestSchema(t *testing.T, path, method, ctype string) *jsonschema.Schema {
	t.Helper()
	rb, _ := s.operation(path, method)["requestBody"].(map[string]any)
	content, _ := rb["content"].(map[string]any)
	if _, ok := content[ctype]; !ok {
		return nil
	}
	ptr := "#/paths/" + pointerToken(path) + "/" + strings.ToLower(method) + "/requestBody/content/" + pointerToken(ctype) + "/schema"
	sch, err := s.c.Compile(specURL + ptr)
	if err != nil {
		t.Fatalf("%s: %v", ptr, err)
	}
	return sch
}

func keysOf(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// registeredRoutes reads the patterns the api package registers on its
// router, from its source: every mux.Handle and mux.HandleFunc call with a
// literal pattern, so a route added anywhere in the package is seen.
func registeredRoutes(t *testing.T) []string {
	t.Helper()
	files, _ := filepath.Glob("*.go")
	fset := token.NewFileSet()
	var out []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		file, err := parser.ParseFile(fset, f, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) == 0 {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || (sel.Sel.Name != "Handle" && sel.Sel.Name != "HandleFunc") {
				return true
			}
			if lit, ok := call.Args[0].(*ast.BasicLit); ok && lit.Kind == token.STRING {
				p, _ := strconv.Unquote(lit.Value)
				out = append(out, p)
			}
			return true
		})
	}
	if len(out) < 5 {
		t.Fatalf("found only %d routes: %v", len(out), out)
	}
	return out
}

var wildcard = regexp.MustCompile(`\{([A-Za-z_][A-Za-z0-9_]*)(\.\.\.)?\}`)

// splitPattern turns a ServeMux pattern into its method ("" = any) and an
// OpenAPI path template.
func splitPattern(p string) (method, path string) {
	if m, rest, ok := strings.Cut(p, " "); ok {
		method, p = m, strings.TrimSpace(rest)
	}
	return method, wildcard.ReplaceAllString(p, "{$1}")
}

// Every route the router registers is in the document.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	spec := loadOpenAPI(t, api.OpenAPI())
	paths, _ := spec.doc["paths"].(map[string]any)
	for _, p := range registeredRoutes(t) {
		method, path := splitPattern(p)
		ops, _ := paths[path].(map[string]any)
		if ops == nil {
			t.Errorf("route %q: path %s is not documented", p, path)
			continue
		}
		if method != "" && ops[strings.ToLower(method)] == nil {
			t.Errorf("route %q: %s %s is not documented", p, method, path)
		}
	}
}

// acceptLog takes what the ingest handlers accept, as the evidence log
// would: every record durable, none refused.
type acceptLog struct{ n int }

func (l *acceptLog) Append(_ context.Context, ds []model.Delivery) ([]error, error) {
	l.n += len(ds)
	return nil, nil
}

const webhookSecret = "openapi-webhook-secret-0123"

// specCase is one real request and the documented operation it exercises.
type specCase struct {
	path          string // the document's path template
	method, url   string
	token         string
	header        map[string]string
	body          string
	want          int
	streamedCheck func(t *testing.T, body []byte) // for non-JSON answers
}

// Every documented operation answers real requests with a documented
// status, content type and shape: each answer is validated against the
// document's schema for it, and every operation is exercised.
func TestOpenAPIAnswersMatchTheDocument(t *testing.T) {
	evlog := &acceptLog{}
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	e := newEnv(t, func(s *api.Server) {
		s.Webhook = &github.Handler{Secret: func() string { return webhookSecret }, Sink: evlog}
		s.Deploys = &ingest.DeployHandler{Sink: evlog, Options: func() deploy.Options {
			return deploy.Options{Services: map[string][]string{"payments-api": {"acme/api"}}}
		}}
		s.Access = &ingest.AccessHandler{Sink: evlog}
		s.Audit = &api.AuditSource{Service: s.Service, IsProduction: func(env string) bool { return env == "production" }}
		s.Version = "test"
		s.Ready = func(context.Context) error { return nil }
		s.Report = &api.Reporter{Service: s.Service, Version: "test",
			System: func(context.Context) (report.System, error) { return report.System{}, nil }}
		s.UI = &ui.Handler{Auth: testAuth, Service: s.Service, Reporter: s.Report.(*api.Reporter), Version: "test"}
		s.Admin = &api.Admin{Store: s.Service.Store, Backfill: heldBackfill(t, release)}
	})
	seedAudit(t, e)
	seedMaintenance(t, e)
	code, _, body := e.get(t, "/v1/openapi.json", "")
	if code != http.StatusOK {
		t.Fatalf("GET /v1/openapi.json = %d", code)
	}
	if !bytes.Equal(body, api.OpenAPI()) {
		t.Fatal("the served document is not the embedded one")
	}
	spec := loadOpenAPI(t, body)

	payload := `{"zen":"Keep it logically awesome.","hook_id":1}`
	mac := hmac.New(sha256.New, []byte(webhookSecret))
	mac.Write([]byte(payload))
	sig := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	deployLine := `{"id":"dep-1","service":"payments-api","environment":"production","sha":"` + sha('b') +
		`","status":"success","actor":"ci","started_at":"2026-03-01T11:00:00Z","finished_at":"2026-03-01T11:05:00Z"}`
	accessLine := `{"system":"ssh","id":"a-1","principal":"alice","action":"login","result":"success","time":"2026-03-01T12:00:00Z"}`

	cases := []specCase{
		{path: "/v1/openapi.json", method: "GET", url: "/v1/openapi.json", want: 200},
		{path: "/v1/findings", method: "GET", url: "/v1/findings", token: tokAuditor, want: 200},
		{path: "/v1/findings", method: "GET", url: "/v1/findings?history=true&limit=2", token: tokAdmin, want: 200},
		{path: "/v1/findings", method: "GET", url: "/v1/findings?from=yesterday", token: tokAuditor, want: 400},
		{path: "/v1/findings", method: "GET", url: "/v1/findings", want: 401},
		{path: "/v1/findings", method: "GET", url: "/v1/findings", token: tokIngest, want: 403},
		{path: "/v1/changes", method: "GET", url: "/v1/changes", token: tokAuditor, want: 200},
		{path: "/v1/changes", method: "GET", url: "/v1/changes?limit=1&in_scope=true", token: tokAuditor, want: 200},
		{path: "/v1/changes", method: "GET", url: "/v1/changes?limit=-1", token: tokAuditor, want: 400},
		{path: "/v1/changes/{owner}/{repo}/{number}", method: "GET", url: "/v1/changes/acme/api/7", token: tokAuditor, want: 200},
		{path: "/v1/changes/{owner}/{repo}/{number}", method: "GET", url: "/v1/changes/acme/api/11", token: tokAuditor, want: 200},
		{path: "/v1/changes/{owner}/{repo}/{number}", method: "GET", url: "/v1/changes/acme/api/999", token: tokAuditor, want: 404},
		{path: "/v1/changes/{owner}/{repo}/{number}", method: "GET", url: "/v1/changes/acme/api/x", token: tokAuditor, want: 400},
		{path: "/v1/changes/{owner}/{repo}/commit/{sha}", method: "GET", url: "/v1/changes/acme/api/commit/" + sha('d'), token: tokAuditor, want: 200},
		{path: "/v1/changes/{owner}/{repo}/commit/{sha}", method: "GET", url: "/v1/changes/acme/api/commit/abc", token: tokAuditor, want: 400},
		{path: "/v1/deploys", method: "POST", url: "/v1/deploys", token: tokIngest, body: deployLine + "\n{\"id\":\"bad\"}\n", want: 202},
		{path: "/v1/deploys", method: "POST", url: "/v1/deploys", token: tokAuditor, body: deployLine, want: 403},
		{path: "/v1/access", method: "POST", url: "/v1/access", token: tokIngest, body: accessLine + "\n", want: 202},
		{path: "/v1/access", method: "POST", url: "/v1/access?format=nonsense", token: tokIngest, body: accessLine, want: 400},
		{path: "/v1/access", method: "POST", url: "/v1/access", token: tokIngest, body: "{\"id\":\"bad\"}\n", want: 422},
		{path: "/v1/samples", method: "POST", url: "/v1/samples", token: tokAuditor,
			body: `{"from":"2026-03-01","to":"2026-03-31","size":"2","seed":"openapi"}`, want: 200,
			streamedCheck: func(t *testing.T, b []byte) {
				if !bytes.HasPrefix(b, []byte("PK")) {
					t.Errorf("sample is not a zip: %q", b[:min(len(b), 16)])
				}
			}},
		{path: "/v1/samples", method: "POST", url: "/v1/samples", token: tokAuditor, body: `{"from":"2026-03-01"}`, want: 400},
		{path: "/webhooks/github", method: "POST", url: "/webhooks/github", body: payload, want: 202,
			header: map[string]string{"Content-Type": "application/json", "X-Hub-Signature-256": sig, "X-GitHub-Delivery": "d-openapi", "X-GitHub-Event": "ping"}},
		{path: "/webhooks/github", method: "POST", url: "/webhooks/github", body: payload, want: 401,
			header: map[string]string{"Content-Type": "application/json", "X-GitHub-Delivery": "d-openapi", "X-GitHub-Event": "ping"}},
		{path: "/v1/report", method: "GET", url: "/v1/report?from=2026-03-01&to=2026-03-31", token: tokAuditor, want: 200,
			streamedCheck: func(t *testing.T, b []byte) {
				if !bytes.HasPrefix(b, []byte("PK")) {
					t.Errorf("report is not a zip: %q", b[:min(len(b), 16)])
				}
			}},
		{path: "/v1/report", method: "GET", url: "/v1/report?from=2026-03-01", token: tokAuditor, want: 400},
		{path: "/ui/", method: "GET", url: "/ui/signin", want: 200,
			streamedCheck: func(t *testing.T, b []byte) {
				if !bytes.Contains(b, []byte("<form")) {
					t.Errorf("sign-in page without a form: %.200s", b)
				}
			}},
		{path: "/ui/", method: "GET", url: "/ui/overview", want: 303},
		{path: "/ui", method: "GET", url: "/ui", want: 301},
		{path: "/v1/admin/verify", method: "GET", url: "/v1/admin/verify", token: tokAdmin, want: 200},
		{path: "/v1/admin/verify", method: "GET", url: "/v1/admin/verify?from=2026-03-01&to=2026-03-31", token: tokAdmin, want: 200},
		{path: "/v1/admin/verify", method: "GET", url: "/v1/admin/verify?from=soon", token: tokAdmin, want: 400},
		{path: "/v1/admin/verify", method: "GET", url: "/v1/admin/verify", token: tokAuditor, want: 403},
		{path: "/v1/admin/stats", method: "GET", url: "/v1/admin/stats", token: tokAdmin, want: 200},
		{path: "/v1/admin/stats", method: "GET", url: "/v1/admin/stats", want: 401},
		{path: "/v1/admin/deadletters", method: "GET", url: "/v1/admin/deadletters?limit=5", token: tokAdmin, want: 200},
		{path: "/v1/admin/deadletters", method: "GET", url: "/v1/admin/deadletters?limit=x", token: tokAdmin, want: 400},
		{path: "/v1/admin/conflicts", method: "GET", url: "/v1/admin/conflicts", token: tokAdmin, want: 200},
		{path: "/v1/admin/conflicts", method: "GET", url: "/v1/admin/conflicts", token: tokIngest, want: 403},
		{path: "/v1/admin/alerts/retry", method: "POST", url: "/v1/admin/alerts/retry", token: tokAdmin, body: `{"ids":["CM-2|acme/api#7|fail"]}`, want: 200},
		{path: "/v1/admin/alerts/retry", method: "POST", url: "/v1/admin/alerts/retry", token: tokAdmin, body: `{"id":"x"}`, want: 400},
		{path: "/v1/admin/backfill", method: "GET", url: "/v1/admin/backfill", token: tokAdmin, want: 404},
		{path: "/v1/admin/backfill", method: "POST", url: "/v1/admin/backfill", token: tokAdmin, body: `{"since":"2026-01-01","repos":["acme/api"]}`, want: 202},
		{path: "/v1/admin/backfill", method: "POST", url: "/v1/admin/backfill", token: tokAdmin, body: `{"since":"2026-01-01"}`, want: 409},
		{path: "/v1/admin/backfill", method: "POST", url: "/v1/admin/backfill", token: tokAdmin, body: `{"since":"January"}`, want: 400},
		{path: "/v1/admin/backfill", method: "GET", url: "/v1/admin/backfill", token: tokAdmin, want: 200},
		{path: "/healthz", method: "GET", url: "/healthz", want: 200},
		{path: "/readyz", method: "GET", url: "/readyz", want: 200},
		{path: "/metrics", method: "GET", url: "/metrics", want: 200,
			streamedCheck: func(t *testing.T, b []byte) {
				if !bytes.Contains(b, []byte("changeproof_http_requests_total")) {
					t.Error("no changeproof_http_requests_total in /metrics")
				}
			}},
	}
	exercised := map[string]bool{}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s %s %d", c.method, c.url, c.want), func(t *testing.T) {
			// A request the server accepts is one the document describes.
			if c.want < 300 && strings.HasPrefix(strings.TrimSpace(c.body), "{") && !strings.Contains(strings.TrimSpace(c.body), "\n") {
				if rb := spec.requestSchema(t, c.path, c.method, "application/json"); rb != nil {
					v, err := jsonschema.UnmarshalJSON(strings.NewReader(c.body))
					if err != nil {
						t.Fatal(err)
					}
					if err := rb.Validate(v); err != nil {
						t.Errorf("accepted request body does not match the document:\n%v", err)
					}
				}
			}
			req, err := http.NewRequest(c.method, e.srv.URL+c.url, strings.NewReader(c.body))
			if err != nil {
				t.Fatal(err)
			}
			if c.token != "" {
				req.Header.Set("Authorization", "Bearer "+c.token)
			}
			for k, v := range c.header {
				req.Header.Set(k, v)
			}
			// Redirects are answers to check, not to follow.
			client := *e.srv.Client()
			client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != c.want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.want, b)
			}
			if resp.StatusCode >= 300 && resp.StatusCode < 400 {
				// A redirect: documented, without a body.
				op := spec.operation(c.path, c.method)
				if _, ok := op["responses"].(map[string]any)[strconv.Itoa(resp.StatusCode)]; !ok {
					t.Errorf("status %d is not documented", resp.StatusCode)
				}
				exercised[c.method+" "+c.path] = true
				return
			}
			ctype, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
			sch := spec.schema(t, c.path, c.method, resp.StatusCode, ctype)
			if c.streamedCheck != nil {
				c.streamedCheck(t, b)
				if resp.StatusCode < 300 {
					exercised[c.method+" "+c.path] = true
				}
				return
			}
			v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
			if err != nil {
				t.Fatalf("answer is not JSON: %v\n%s", err, b)
			}
			if err := sch.Validate(v); err != nil {
				t.Errorf("answer does not match the document:\n%v\n%s", err, b)
			}
			if resp.StatusCode < 300 {
				exercised[c.method+" "+c.path] = true
			}
		})
	}
	// Every documented operation was answered successfully at least once.
	for path, ops := range spec.doc["paths"].(map[string]any) {
		for method := range ops.(map[string]any) {
			if k := strings.ToUpper(method) + " " + path; !exercised[k] {
				t.Errorf("%s is documented but no request exercised it", k)
			}
		}
	}
}

// heldBackfill stands in for GitHub: it reports one step and then holds
// the job running until release is closed, so a second start meets 409.
func heldBackfill(t *testing.T, release <-chan struct{}) api.BackfillFunc {
	return func(ctx context.Context, req api.BackfillRequest, progress func(api.BackfillProgress)) (api.BackfillResult, error) {
		progress(api.BackfillProgress{Repo: "acme/api", Phase: "pulls", PRs: 1, Requests: 2, Repos: 1, RateRemaining: -1})
		select {
		case <-release:
		case <-ctx.Done():
			return api.BackfillResult{}, ctx.Err()
		}
		return api.BackfillResult{Repos: 1, PRs: 1, Requests: 2}, nil
	}
}

// seedMaintenance stores what the maintenance answers list: a logged
// delivery, a dead letter and a conflict.
func seedMaintenance(t *testing.T, e *env) {
	t.Helper()
	at := ts(t, "2026-03-02T10:00:00Z")
	body := []byte(`{"zen":"x"}`)
	sum := sha256.Sum256(body)
	e.write(t, model.Batch{
		Deliveries:  []model.Delivery{{Source: model.SourceGitHub, Event: "ping", DeliveryID: "maint-1", ReceivedAt: at, SHA256: hex.EncodeToString(sum[:]), Body: body}},
		DeadLetters: []model.DeadLetter{{Source: model.SourceGitHub, Event: "push", DeliveryID: "maint-dl", ReceivedAt: at, Reason: "push delivery maint-dl: malformed payload", Body: []byte(`{}`)}},
		Conflicts:   []model.Conflict{{Source: model.SourceGitHub, ID: "maint-1", Event: "ping", ReceivedAt: at.Add(time.Minute), KeptSHA256: hex.EncodeToString(sum[:]), SHA256: strings.Repeat("f", 64), Body: []byte(`{"zen":"y"}`)}},
	})
}

// The access endpoint's format parameter lists exactly the formats the
// parsers know, in their documented order.
func TestOpenAPIAccessFormats(t *testing.T) {
	raw, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	spec := loadOpenAPI(t, raw)
	var enum []any
	for _, p := range spec.operation("/v1/access", "POST")["parameters"].([]any) {
		if p := p.(map[string]any); p["name"] == "format" {
			enum, _ = p["schema"].(map[string]any)["enum"].([]any)
		}
	}
	var want []any
	for _, f := range access.Formats {
		want = append(want, string(f))
	}
	if fmt.Sprint(enum) != fmt.Sprint(want) {
		t.Errorf("format enum %v, want access.Formats %v", enum, want)
	}
}
