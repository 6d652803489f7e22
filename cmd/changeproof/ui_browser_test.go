package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/changeproof/changeproof/api/ui"
	"github.com/changeproof/changeproof/model"
)

// browser starts headless Chromium, skipping where none is installed
// (Debian: apt-get install chromium; .ci/run installs it).
func browser(t *testing.T) (context.Context, func()) {
	t.Helper()
	path := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		t.Skip("no Chromium installed (Debian: apt-get install chromium): the web UI cannot be tested in a browser")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.WindowSize(1366, 900), chromedp.Flag("disable-dev-shm-usage", true))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 3*time.Minute)
	return ctx, func() { cancelT(); cancelC(); cancelA() }
}

// screenshotDir is where the browser test keeps its screenshots:
// $CHANGEPROOF_SCREENSHOTS when set, else a temporary directory (logged).
func screenshotDir(t *testing.T) string {
	dir := os.Getenv("CHANGEPROOF_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", dir)
	return dir
}

// TestWorkspaceInABrowser signs in to the web UI in headless Chromium,
// reads the overview of a period and compares its counts with the API's,
// opens a failing change and finds the reason the API gives, and signs
// out; no URL the browser loads carries the token, and the session cookie
// is HttpOnly and SameSite=Strict.
func TestWorkspaceInABrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server and a browser")
	}
	ctx, done := browser(t)
	defer done()
	shots := screenshotDir(t)

	_, cfgPath := testConfig(t, "ui_browser")
	dir := filepath.Join(t.TempDir(), "data")
	srv := startChild(t, "serve", "--config", cfgPath, "--data-dir", dir, "--addr", "127.0.0.1:0", "--log-format", "console")
	defer func() { _ = srv.cmd.Process.Signal(syscall.SIGTERM); _ = srv.cmd.Wait() }()
	h := buildChain()
	if _, err := sendAll(context.Background(), "http://"+srv.addr+"/webhooks/github", testSecret, h.deliveries, 1); err != nil {
		t.Fatal(err)
	}
	settled(t, srv.addr)
	base := "http://" + srv.addr
	from, to := "2026-02-01", "2026-02-28"
	want := apiCounts(t, srv.addr, from, to)

	// Every URL the browser requests, to prove the token is in none.
	var mu sync.Mutex
	var urls []string
	must(t, chromedp.Do(ctx)) // start the browser and open the tab
	must(t, chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok {
			mu.Lock()
			urls = append(urls, e.Request.URL+e.Request.URLFragment)
			mu.Unlock()
		}
	}))
	_, err := chromedp.Call(ctx, network.Enable, network.EnableParams{})
	must(t, err)
	do := func(steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		must(t, chromedp.Do(ctx, steps...))
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		must(t, err)
		return s
	}
	location := func() string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Location())
		must(t, err)
		return s
	}
	shot := func(name string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			png, err := chromedp.FullScreenshot(100)(ctx, tg) // quality 100: PNG
			if err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(shots, name+".png"), png, 0o644)
		})
	}
	token := chromedp.ID("token")

	// Signed out, the workspace sends the browser to the sign-in page; a
	// wrong token is refused.
	do(chromedp.Navigate(base+"/ui/overview"), chromedp.WaitVisible(token))
	if loc := location(); !strings.HasSuffix(loc, "/ui/signin") {
		t.Fatalf("signed out, /ui/overview went to %s", loc)
	}
	do(chromedp.SendKeys(token, "not-a-token"), chromedp.Submit(token), chromedp.WaitVisible(chromedp.CSS("p.error")), shot("1-signin-refused"))
	if alert := text("p.error"); !strings.Contains(alert, "Sign-in failed") {
		t.Fatalf("wrong token: alert %q", alert)
	}

	// Sign in; choose the period with the form.
	do(chromedp.Navigate(base+"/ui/signin"), chromedp.WaitVisible(token), chromedp.SendKeys(token, testToken), chromedp.Submit(token),
		chromedp.WaitVisible(chromedp.ID("overview")),
		chromedp.SetValue(chromedp.ID("from"), from), chromedp.SetValue(chromedp.ID("to"), to),
		chromedp.Submit(chromedp.ID("from")),
		chromedp.WaitVisible(chromedp.CSS(`#overview caption`)))
	if loc := location(); !strings.Contains(loc, "from="+from) {
		t.Fatalf("overview at %s, want the chosen period", loc)
	}
	cookies, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{})
	must(t, err)
	var session *network.Cookie
	for _, c := range cookies.Cookies {
		if c.Name == ui.CookieName {
			session = c
		}
	}
	if session == nil || !session.HTTPOnly || session.SameSite != network.CookieSameSiteStrict || session.Value == testToken {
		t.Fatalf("session cookie = %+v", session)
	}

	// The overview's counts are the API's.
	cells, err := chromedp.Run(ctx, chromedp.Evaluate[[]struct{ Control, Outcome, Text string }](
		`[...document.querySelectorAll('#overview tbody td[data-outcome]')].map(td => ({
		Control: td.parentElement.dataset.control, Outcome: td.dataset.outcome, Text: td.textContent.trim()}))`))
	must(t, err)
	do(shot("2-overview"))
	got := map[string]map[model.Outcome]int{}
	for _, c := range cells {
		n := 0
		for _, r := range c.Text {
			n = n*10 + int(r-'0')
		}
		if c.Outcome == "population" || n == 0 {
			continue
		}
		if got[c.Control] == nil {
			got[c.Control] = map[model.Outcome]int{}
		}
		got[c.Control][model.Outcome(c.Outcome)] = n
	}
	if len(cells) == 0 || !equalCounts(got, want) {
		t.Fatalf("overview counts %v\nAPI counts      %v", got, want)
	}

	// A failing change: follow the overview's fail count to the findings,
	// open the first change and find the API's reason on its page.
	var rule string
	for r, c := range want {
		if c[model.Fail] > 0 && (rule == "" || r < rule) {
			rule = r
		}
	}
	if rule == "" {
		t.Fatal("no failing control in the period: the test would prove nothing")
	}
	do(chromedp.Click(chromedp.CSS(`#overview tr[data-control="`+rule+`"] td[data-outcome="fail"] a`)),
		chromedp.WaitVisible(chromedp.ID("findings")), shot("3-findings"))
	subject := text(`#findings tbody tr:first-child td:nth-child(2)`)
	do(chromedp.Click(chromedp.CSS(`#findings tbody tr:first-child td:nth-child(2) a`)),
		chromedp.WaitVisible(chromedp.ID("reviews")), shot("4-change"))
	page := text("main")
	apiReason := findingReason(t, srv.addr, rule, subject)
	if apiReason == "" || !strings.Contains(page, apiReason) {
		t.Fatalf("change page of %s lacks the API's %s reason %q:\n%s", subject, rule, apiReason, page)
	}

	// A review that did not count shows why, as the API says.
	checked := false
	for _, f := range allFindings(t, srv.addr, from, to) {
		if f.Outcome != model.Fail || !strings.Contains(f.Subject, "#") || checked {
			continue
		}
		var b struct {
			ReviewVerdicts []model.ReviewVerdict `json:"review_verdicts"`
		}
		repo, n, _ := strings.Cut(f.Subject, "#")
		must(t, json.Unmarshal(apiGet(t, base+"/v1/changes/"+repo+"/"+n), &b))
		for _, v := range b.ReviewVerdicts {
			if v.Counted || v.Why == "" {
				continue
			}
			do(chromedp.Navigate(base+ui.ChangeLink(f.Subject)), chromedp.WaitVisible(chromedp.ID("reviews")), shot("4b-review-not-counted"))
			if page := text("main"); !strings.Contains(page, v.Why) || !strings.Contains(page, "not counted") {
				t.Fatalf("change page of %s lacks why %s's review did not count (%q):\n%s", f.Subject, v.Reviewer, v.Why, page)
			}
			checked = true
			break
		}
	}
	if !checked {
		t.Fatal("no failing pull request with a review that did not count: the review check proves nothing")
	}

	// The other pages render.
	for _, p := range []struct{ name, path, sel string }{
		{"5-exceptions", "/ui/exceptions?from=" + from + "&to=" + to, "#exceptions"},
		{"6-access", "/ui/access?from=" + from + "&to=" + to, "h1"},
		{"7-sample", "/ui/sample?from=" + from + "&to=" + to, "#size"}} {
		do(chromedp.Navigate(base+p.path), chromedp.WaitVisible(chromedp.CSS(p.sel)), shot(p.name))
	}

	// Sign out: back to the sign-in page, and the session is gone.
	do(chromedp.Click(chromedp.CSS(`form[action="/ui/signout"] button`)), chromedp.WaitVisible(chromedp.CSS("p.ok")))
	if status := text("p.ok"); !strings.Contains(status, "signed out") {
		t.Fatalf("after sign-out: %q", status)
	}
	do(chromedp.Navigate(base+"/ui/overview"), chromedp.WaitVisible(token), shot("8-signed-out"))
	if loc := location(); !strings.HasSuffix(loc, "/ui/signin") {
		t.Fatalf("after sign-out, /ui/overview went to %s", loc)
	}

	mu.Lock()
	defer mu.Unlock()
	if len(urls) < 8 {
		t.Fatalf("only %d requests seen: the URL check proves nothing", len(urls))
	}
	for _, u := range urls {
		if strings.Contains(u, testToken) {
			t.Errorf("the token appears in a URL: %s", u)
		}
	}
}

// allFindings is GET /v1/findings for the period.
func allFindings(t *testing.T, addr, from, to string) []model.Finding {
	t.Helper()
	var out struct{ Findings []model.Finding }
	if err := json.Unmarshal(apiGet(t, "http://"+addr+"/v1/findings?from="+from+"&to="+to), &out); err != nil {
		t.Fatal(err)
	}
	return out.Findings
}

// findingReason is the API's reason for a finding.
func findingReason(t *testing.T, addr, rule, subject string) string {
	t.Helper()
	var out struct{ Findings []model.Finding }
	if err := json.Unmarshal(apiGet(t, "http://"+addr+"/v1/findings?rule="+rule), &out); err != nil {
		t.Fatal(err)
	}
	for _, f := range out.Findings {
		if f.Subject == subject {
			return f.Reason
		}
	}
	return ""
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
