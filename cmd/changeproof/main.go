// Command changeproof proves change management for SOC 2: it receives
// GitHub webhooks, stores them in ClickHouse (embedded or server), evaluates
// the change-management controls, and answers auditors' questions.
package main

import (
	"fmt"
	"os"
)

const usage = `changeproof — evidence that every production change was approved and reviewed

Usage:
  changeproof serve     [--config FILE] [--data-dir DIR] [--addr HOST:PORT] [--roles receiver,pipeline,rules,api] [--log-format json|console]
  changeproof demo      [--data-dir DIR] [--prs N] [--seed N]
  changeproof findings  [--rule R] [--outcome O] [--repo R] [--from D] [--to D] [--history] [--format table|json|csv]
  changeproof changes   [--repo R] [--from D] [--to D] [--in-scope] [--format table|json|csv]
  changeproof evidence  OWNER/REPO#N | OWNER/REPO@SHA [--format table|json]
  changeproof sample    --from D --to D --size N|auto [--frequency F] [--seed S] [--population changes|deploys|access] --out DIR
  changeproof report    --from D --to D --out DIR [--format html|oscal]   SOC 2 period report (signed with signing.key_file)
  changeproof verify-export DIR [--key-fingerprint SHA256:...]   check an export's or report's hashes and signature
  changeproof ingest    deploy --file F | access --file F [--format FORMAT] [--system S] [--timezone TZ] [--year YYYY]
  changeproof backfill  github --since YYYY-MM-DD [--repo owner/name]... [--org org]...   history from GitHub's REST API
  changeproof alerts    test    send a sample Slack message with the configured transport
  changeproof controls  [--format table|markdown]
  changeproof deadletters [--limit N]       accepted events that could not be derived, with the reason
  changeproof conflicts [--format table|json|csv]   events refused because their id held other bytes (kept as evidence)
  changeproof verify    [--from D] [--to D] [--format text|json]   recompute the raw log's hash chains (every source), report every broken link
  changeproof stats     rows per table in the local store (after replacement)
  changeproof engine    check the embedded ClickHouse engine (libchdb.so) loads
  changeproof bench     generate|rules [flags]   generate an organisation at scale, measure against raw engine limits
  changeproof version

Query commands read the local --data-dir (default ./data), or a running
server with --server URL and --token T (or CHANGEPROOF_TOKEN).
Every command accepts --config FILE and --data-dir DIR.
`

// Version is set at build time (-ldflags "-X main.Version=...").
var Version = "dev"

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	cmd, args := os.Args[1], os.Args[2:]
	var err error
	switch cmd {
	case "serve":
		err = runServe(args)
	case "demo":
		err = runDemo(args)
	case "findings":
		err = runFindings(args)
	case "changes":
		err = runChanges(args)
	case "evidence":
		err = runEvidence(args)
	case "controls":
		err = runControls(args)
	case "ingest":
		err = runIngest(args)
	case "backfill":
		err = runBackfill(args)
	case "alerts":
		err = runAlerts(args)
	case "sample":
		err = runSample(args)
	case "report":
		err = runReport(args)
	case "verify-export":
		err = runVerifyExport(args)
	case "deadletters":
		err = runDeadletters(args)
	case "conflicts":
		err = runConflicts(args)
	case "verify":
		err = runVerify(args)
	case "stats":
		err = runStats(args)
	case "engine":
		err = runEngineCheck(args)
	case "bench":
		err = runBench(args)
	case "version", "--version":
		fmt.Println("changeproof", Version)
	case "help", "-h", "--help":
		fmt.Print(usage)
	default:
		fmt.Fprintf(os.Stderr, "changeproof: unknown command %q\n\n%s", cmd, usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "changeproof %s: %v\n", cmd, err)
		os.Exit(1)
	}
}
