package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"go.uber.org/zap"

	"github.com/changeproof/changeproof/alert/slack/slacktest"
	"github.com/changeproof/changeproof/config"
	"github.com/changeproof/changeproof/ingest"
	"github.com/changeproof/changeproof/internal/testkit/demoorg"
	"github.com/changeproof/changeproof/internal/testkit/fixture"
	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/rules"
	"github.com/changeproof/changeproof/store"
	"github.com/spf13/cobra"
)

const demoMarker = ".changeproof-demo"

// demoConfig is the configuration the demo writes and runs with, so that the
// commands it suggests afterwards see the same scope, policy and tokens. The
// organisation's scope, systems, identities and waivers come from the
// generator, which knows what it built.
const demoConfig = `# Written by "changeproof demo". Reuse it to query the demo's data:
#   changeproof serve --config %[1]s --data-dir %[2]s
server:
  addr: "127.0.0.1:8080"
  tokens:
    - {name: demo-admin, role: admin, token: "%[3]s"}
    - {name: demo-auditor, role: auditor, token: "%[4]s"}
    - {name: demo-ci, role: ingest, token: "%[5]s"}
github:
  webhook_secret: "%[6]s"
policy:
  require_ticket: true
%[7]s`

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// prepareDemoDir empties dir when an earlier demo made it; it refuses to
// touch a directory it did not make.
func prepareDemoDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return os.MkdirAll(dir, 0o750)
	}
	if err != nil {
		return err
	}
	if len(entries) > 0 {
		if _, err := os.Stat(filepath.Join(dir, demoMarker)); err != nil {
			return fmt.Errorf("--data-dir %s is not empty and was not made by the demo; choose another", dir)
		}
		if err := os.RemoveAll(dir); err != nil {
			return err
		}
		return os.MkdirAll(dir, 0o750)
	}
	return nil
}

func newDemoCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run a generated organisation's history through a real server",
		Long: `Generate an organisation's GitHub history (pull requests, reviews, direct
pushes, deploys, access events), send it as signed webhooks to a real
server on this machine, and print what the controls found, with the
commands to explore it. The data dir is emptied first if an earlier demo
made it; its configuration and tokens are written there.`,
		Example: `  changeproof demo
  changeproof demo --prs 1000 --seed 7 --data-dir /tmp/demo`,
		Args: cobra.NoArgs,
	}
	fs := cmd.Flags()
	dataDir := fs.String("data-dir", "./demo-data", "where the demo keeps its data (emptied first if an earlier demo made it)")
	prs := fs.Int("prs", 300, "merged pull requests to generate")
	seed := fs.Int64("seed", 1, "seed of the generated history")
	workers := fs.Int("concurrency", 32, "concurrent webhook senders")
	_ = fs.String("config", "", "ignored: the demo writes its own configuration")
	cmd.RunE = run(func(*cobra.Command, []string) error { return runDemo(*dataDir, *prs, *seed, *workers) })
	return cmd
}

func runDemo(dataDir string, prs int, seed int64, workers int) error {
	start := time.Now()
	if err := prepareDemoDir(dataDir); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dataDir, demoMarker), []byte("made by changeproof demo\n"), 0o640); err != nil {
		return err
	}
	now := time.Now().UTC()
	hist := demoorg.Generate(demoorg.Options{Seed: seed, Now: now, PRs: prs, Operations: true})
	secret, admin, auditor, ingestTok := randomHex(16), randomHex(16), randomHex(16), randomHex(16)
	cfgPath := filepath.Join(dataDir, "changeproof-demo.yaml")
	cfgText := fmt.Sprintf(demoConfig, cfgPath, dataDir, admin, auditor, ingestTok, secret, hist.Expect.ConfigYAML())
	if err := os.WriteFile(cfgPath, []byte(cfgText), 0o600); err != nil {
		return err
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		return fmt.Errorf("demo configuration: %w", err)
	}
	// Alerts go to a local Slack-compatible sink for the demo's lifetime;
	// the written config leaves Slack unset, so a later serve sends nothing.
	sink := slacktest.New()
	defer sink.Close()
	cfg.Alerts.Slack.WebhookURL = sink.WebhookURL()
	cfg.Alerts.APIURL = "http://127.0.0.1:8080"
	log := zap.NewNop()
	a, err := newApp(context.Background(), cfg, filepath.Join(dataDir, "engine"), log)
	if err != nil {
		return err
	}
	defer a.close()
	addr, err := a.start("127.0.0.1:0")
	if err != nil {
		return err
	}
	url := "http://" + addr + "/webhooks/github"
	fmt.Printf("changeproof demo: embedded stack on %s, data in %s\n", addr, dataDir)
	fmt.Printf("replaying %d signed GitHub webhook deliveries (%d repositories, %d merged PRs) over HTTP...\n",
		len(hist.Deliveries), len(hist.Repos), prs)

	ctx := context.Background()
	sendStart := time.Now()
	statuses, err := sendAll(ctx, url, secret, hist.Deliveries, workers)
	if err != nil {
		return err
	}
	sendDur := time.Since(sendStart)
	// What a receiver must refuse or ignore: a forgery and a redelivery.
	forged := hist.Deliveries[0]
	forged.ID = "forged-" + forged.ID
	forgedStatus, err := fixture.Post(ctx, http.DefaultClient, url, "not-the-secret", forged)
	if err != nil {
		return err
	}
	dupStatus, err := fixture.Post(ctx, http.DefaultClient, url, secret, hist.Deliveries[0])
	if err != nil {
		return err
	}
	deploys, access, err := sendOperations(ctx, "http://"+addr, ingestTok, hist)
	if err != nil {
		return err
	}
	evalStart := time.Now()
	if err := a.waitIdle(ctx); err != nil {
		return err
	}
	evalDur := time.Since(evalStart)
	if err := a.alerts.Flush(ctx); err != nil {
		return err
	}
	alerts := sink.Texts()

	fmt.Printf("  accepted %d deliveries in %s (%.0f/s); HTTP statuses %s\n", statuses[http.StatusAccepted], sendDur.Round(time.Millisecond),
		float64(len(hist.Deliveries))/sendDur.Seconds(), fmtStatuses(statuses))
	fmt.Printf("  forged delivery (wrong signature): HTTP %d, nothing stored; redelivery of %s: HTTP %d, no second effect\n",
		forgedStatus, hist.Deliveries[0].ID, dupStatus)
	fmt.Printf("  %d deploys via POST /v1/deploys and GitHub deployment_status; %d access events via POST /v1/access (generic, k8s-audit, sshd)\n",
		deploys, access)
	fmt.Printf("  findings settled %s after the last event\n\n", evalDur.Round(time.Millisecond))

	fs2, err := a.store.Findings(ctx, store.FindingQuery{})
	if err != nil {
		return err
	}
	printSummary(os.Stdout, fs2)
	printExamples(os.Stdout, fs2)
	fmt.Printf("\nSlack: %d alerts posted to a local Slack-compatible sink (one per failing subject and break-glass use;\n"+
		"direct pushes wait alerts.grace, %s, for a late pull_request event). The first:\n", len(alerts), cfg.Alerts.Grace)
	if len(alerts) > 0 {
		for _, line := range strings.Split(alerts[0], "\n") {
			fmt.Println("  | " + line)
		}
	}
	if v, err := a.store.Verify(ctx, time.Time{}, time.Time{}); err == nil {
		fmt.Printf("\nEvidence log: %d records, every source hash-chained (%d GitHub deliveries, %d deploys, %d access events); verify: %s. Done in %s.\n\n",
			v.Links, v.BySource[model.SourceGitHub], v.BySource[model.SourceDeploy], v.BySource[model.SourceAccess], okWord(v.OK()), time.Since(start).Round(time.Millisecond))
	}
	bin := os.Args[0]
	if rel, err := filepath.Rel(".", bin); err == nil && !strings.HasPrefix(rel, "..") && !strings.HasPrefix(bin, "/tmp") {
		bin = "./" + rel
	}
	fmt.Printf(`Query more (the demo's config and data stay in %[2]s):
  %[1]s findings --config %[3]s --data-dir %[4]s --outcome fail
  %[1]s findings --config %[3]s --data-dir %[4]s --rule %[7]s
  %[1]s changes  --config %[3]s --data-dir %[4]s --in-scope --format csv
  %[1]s evidence %[5]s --config %[3]s --data-dir %[4]s
  %[1]s serve    --config %[3]s --data-dir %[4]s     # then:
  curl -H 'Authorization: Bearer %[6]s' 'http://127.0.0.1:8080/v1/findings?outcome=fail'
`, bin, dataDir, cfgPath, filepath.Join(dataDir, "engine"), exampleSubject(fs2), auditor, exampleShipmentRule())
	return nil
}

func sendAll(ctx context.Context, url, secret string, ds []fixture.Delivery, workers int) (map[int]int, error) {
	if workers < 1 {
		workers = 1
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	jobs := make(chan fixture.Delivery)
	var mu sync.Mutex
	statuses := map[int]int{}
	var firstErr error
	var wg sync.WaitGroup
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for d := range jobs {
				code, err := fixture.Post(ctx, client, url, secret, d)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = fmt.Errorf("delivery %s: %w", d.ID, err)
				}
				statuses[code]++
				mu.Unlock()
			}
		}()
	}
	for _, d := range ds {
		jobs <- d
	}
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if statuses[http.StatusAccepted] != len(ds) {
		return statuses, fmt.Errorf("only %d of %d deliveries accepted: %s", statuses[http.StatusAccepted], len(ds), fmtStatuses(statuses))
	}
	return statuses, nil
}

func fmtStatuses(m map[int]int) string {
	var parts []string
	for code, n := range m {
		parts = append(parts, fmt.Sprintf("%d×%d", n, code))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

// printSummary prints one row per control with its outcome counts.
func printSummary(w io.Writer, fs []model.Finding) {
	counts := map[string]map[model.Outcome]int{}
	for _, f := range fs {
		if counts[f.Rule] == nil {
			counts[f.Rule] = map[model.Outcome]int{}
		}
		counts[f.Rule][f.Outcome]++
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "CONTROL\tNAME\tpass\tfail\tpending\twaived\tn/a\terror\t")
	for _, d := range rules.Catalogue() {
		m := counts[d.ID]
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t\n", d.ID, d.Name, m[model.Pass], m[model.Fail], m[model.Pending],
			m[model.Waived], m[model.NotApplicable], m[model.Error])
	}
	tw.Flush()
}

// printExamples shows failing findings of three different controls, in
// catalogue order.
func printExamples(w io.Writer, fs []model.Finding) {
	fmt.Fprintln(w, "\nExample failing findings:")
	n := 0
	for _, d := range rules.Catalogue() {
		if n == 3 {
			return
		}
		if f, ok := firstFail(fs, func(rule string) bool { return rule == d.ID }); ok {
			n++
			fmt.Fprintf(w, "  %s %s\n      %s\n", f.Rule, f.Subject, f.Reason)
			if f.Evidence.URL != "" {
				fmt.Fprintf(w, "      %s\n", f.Evidence.URL)
			}
		}
	}
}

// exampleSubject is a change worth opening the evidence bundle of: one a
// control that shows review verdicts failed (the bundle says why each
// approval did or did not count), else any failing change.
func exampleSubject(fs []model.Finding) string {
	reviewed := map[string]bool{}
	for _, d := range rules.Catalogue() {
		if d.Presents.ReviewVerdicts {
			reviewed[d.ID] = true
		}
	}
	if f, ok := firstFail(fs, func(rule string) bool { return reviewed[rule] }); ok {
		return f.Subject
	}
	return "OWNER/REPO#1"
}

// exampleShipmentRule is a control that judges deploys, for the demo's
// "findings --rule" suggestion.
func exampleShipmentRule() string {
	for _, d := range rules.Catalogue() {
		if d.Presents.Shipments {
			return d.ID
		}
	}
	return rules.Catalogue()[0].ID
}

func firstFail(fs []model.Finding, rule func(string) bool) (model.Finding, bool) {
	for _, f := range fs {
		if f.Outcome == model.Fail && rule(f.Rule) {
			return f, true
		}
	}
	return model.Finding{}, false
}

// sendOperations posts the history's deploys and access uploads the way CI
// and log shippers would.
func sendOperations(ctx context.Context, base, token string, hist demoorg.History) (deploys, access int, err error) {
	post := func(path string, body []byte) (int, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+path, bytes.NewReader(body))
		if err != nil {
			return 0, err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		var rep ingest.Report
		if err := json.NewDecoder(resp.Body).Decode(&rep); err != nil {
			return 0, fmt.Errorf("POST %s: %s", path, resp.Status)
		}
		if resp.StatusCode != http.StatusAccepted || len(rep.Rejected) > 0 {
			return rep.Accepted, fmt.Errorf("POST %s: %s: %d rejected (%v) %s", path, resp.Status, len(rep.Rejected), rep.Rejected, rep.Error)
		}
		return rep.Accepted, nil
	}
	n, err := post("/v1/deploys", bytes.Join(hist.DeployLines, []byte("\n")))
	if err != nil {
		return 0, 0, err
	}
	deploys = n
	for _, d := range hist.Deliveries {
		if d.Event == "deployment_status" {
			deploys++
		}
	}
	for _, up := range hist.Access {
		n, err := post("/v1/access?"+url.Values{"format": {up.Format}, "system": {up.System}}.Encode(), up.Body)
		if err != nil {
			return deploys, access, err
		}
		access += n
	}
	return deploys, access, nil
}

func okWord(ok bool) string {
	if ok {
		return "intact"
	}
	return "BROKEN"
}
