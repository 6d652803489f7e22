package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/changeproof/changeproof/config"
	"github.com/changeproof/changeproof/store"
)

func init() {
	registerBench(benchCommand{
		name: "generate",
		usage: "--changes N --reviews N --deploys N --access N [--repos N] [--data-dir DIR] [--force]\n" +
			"                  write a generated organisation straight into the store (INSERT ... SELECT),\n" +
			"                  and DIR/changeproof.yaml, the configuration that makes it meaningful",
		run: runBenchGenerate,
	})
}

// benchSpec sizes a generated organisation.
type benchSpec struct {
	Changes, Reviews, Deploys, Access, Repos int
	// T0 is when the generated history starts; it spans a year.
	T0 time.Time
}

// The generated organisation's people: dev0..dev49, each with a GitHub
// login, an alias login (dev7-alt) and a system principal (dev7@corp).
// dev0..dev29 may access every production system (prod-k8s: dev0..dev24),
// dev30..dev48 none; dev49 may, but leaves 200 days into the history.
// Everything else (contractor-N, release-bot, dependabot[bot]) is unlisted.
const (
	benchDevs       = 50
	benchTerminated = "dev49"
)

// benchConfig is the configuration the generated data is judged under.
func benchConfig(spec benchSpec) config.Config {
	cfg := config.Default()
	cfg.Server.Addr = "127.0.0.1:0"
	cfg.GitHub.ReconcileEvery = 0
	cfg.Scope.Repos = []string{"acme/*"}
	cfg.Scope.ProductionEnvironments = []string{"production", "prod"}
	cfg.Scope.Services = map[string]config.Service{}
	for i := 0; i < spec.Repos; i++ {
		cfg.Scope.Services[benchService(i)] = config.Service{Repos: []string{benchRepo(i)}}
	}
	cfg.Policy.RequireTicket = true
	cfg.Policy.DirectPushExempt = []string{"release-bot"}
	for i := 0; i < benchDevs; i++ {
		id := config.Identity{Name: fmt.Sprintf("dev%d", i),
			Logins: []string{fmt.Sprintf("dev%d", i), fmt.Sprintf("dev%d-alt", i), fmt.Sprintf("dev%d@corp", i)}}
		if id.Name == benchTerminated {
			id.TerminatedAt = config.Instant{Time: spec.T0.Add(200 * 24 * time.Hour)}
		}
		cfg.Identities = append(cfg.Identities, id)
	}
	auth := func(n int) []string {
		var out []string
		for i := 0; i < n; i++ {
			out = append(out, fmt.Sprintf("dev%d", i))
		}
		return append(out, benchTerminated)
	}
	cfg.Access.Systems = map[string]config.System{
		"prod-db":  {Authorized: auth(30), BreakGlassRoles: []string{"dba"}},
		"bastion":  {Authorized: auth(30), BreakGlassRoles: []string{"root"}},
		"prod-k8s": {Authorized: auth(25), BreakGlassRoles: []string{"cluster-admin"}},
		// dev-db's events are stored but produce no findings.
	}
	return cfg
}

func benchRepo(i int) string    { return fmt.Sprintf("acme/svc-%04d", i) }
func benchService(i int) string { return fmt.Sprintf("svc-%04d", i) }

// benchTables are emptied by generate --force.
var benchTables = []string{"raw_deliveries", "dead_letters", "pull_requests", "reviews", "pushes", "protection_events",
	"findings", "finding_evidence", "waivers", "deploys", "access_events", "alerts"}

func runBenchGenerate(args []string) error {
	fs := flag.NewFlagSet("bench generate", flag.ContinueOnError)
	var spec benchSpec
	fs.IntVar(&spec.Changes, "changes", 1_000_000, "changes: merged pull requests and direct pushes (5%)")
	fs.IntVar(&spec.Reviews, "reviews", 3_000_000, "review events")
	fs.IntVar(&spec.Deploys, "deploys", 100_000, "deploys")
	fs.IntVar(&spec.Access, "access", 10_000_000, "access events")
	fs.IntVar(&spec.Repos, "repos", 200, "repositories (one service each)")
	dataDir := fs.String("data-dir", "./bench-data", "embedded engine's storage directory (a dedicated one)")
	force := fs.Bool("force", false, "empty the store in --data-dir first")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if spec.Repos < 1 || spec.Changes < spec.Repos || spec.Reviews < 0 || spec.Deploys < 0 || spec.Access < 0 {
		return errors.New("bench generate: need --repos >= 1, --changes >= --repos, and no negative count")
	}
	// A year of history ending now, so that a few emergency windows are
	// still open when it is judged.
	end := time.Now().UTC().Truncate(time.Hour)
	spec.T0 = end.Add(-365 * 24 * time.Hour)
	ctx := context.Background()
	cfg := benchConfig(spec)
	if err := os.MkdirAll(*dataDir, 0o750); err != nil {
		return err
	}
	start := time.Now()
	_, st, err := openStore(ctx, cfg, *dataDir)
	if err != nil {
		return err
	}
	defer st.Close()
	if n, err := st.CountPhysical(ctx, "pull_requests"); err != nil {
		return err
	} else if n > 0 && !*force {
		return fmt.Errorf("bench generate: %s already holds data (%d pull request rows); pass --force to empty it", *dataDir, n)
	}
	if *force {
		if err := st.EmptyTables(ctx, benchTables...); err != nil {
			return err
		}
	}
	timings, err := st.GenerateOrg(ctx, store.GeneratedOrg{Changes: spec.Changes, Reviews: spec.Reviews,
		Deploys: spec.Deploys, Access: spec.Access, Repos: spec.Repos, T0: spec.T0})
	if err != nil {
		return err
	}
	// Waivers on a few generated failures, so that evaluation applies them.
	if cfg.Waivers, err = benchWaivers(ctx, st, end); err != nil {
		return err
	}
	if err := writeBenchConfig(filepath.Join(*dataDir, "changeproof.yaml"), cfg); err != nil {
		return err
	}
	for _, tm := range timings {
		fmt.Printf("%-18s %11d rows  %s\n", tm.Table, tm.Rows, secs(tm.Took))
	}
	fmt.Printf("generated in %s (store and config in %s; judge it with `changeproof bench rules --data-dir %s`)\n",
		secs(time.Since(start)), *dataDir, *dataDir)
	return nil
}

// benchWaivers waives CM-4 on three generated pull requests without a
// ticket and AC-1 on two contractor logins, until a year from now.
func benchWaivers(ctx context.Context, st *store.Store, now time.Time) ([]config.Waiver, error) {
	subjects, err := st.BenchWaiverSubjects(ctx)
	if err != nil {
		return nil, err
	}
	var ws []config.Waiver
	for _, r := range subjects {
		ws = append(ws, config.Waiver{Rule: r.Rule, Subject: r.Subject, Reason: "accepted for the benchmark",
			ApprovedBy: "ciso", Expires: config.Expiry{Time: now.Add(365 * 24 * time.Hour)}})
	}
	return ws, nil
}

func writeBenchConfig(path string, cfg config.Config) error {
	b, err := yaml.Marshal(cfg)
	if err != nil {
		return fmt.Errorf("encode bench config: %w", err)
	}
	head := "# Written by `changeproof bench generate`: the configuration the generated data is judged under.\n"
	if err := os.WriteFile(path, append([]byte(head), b...), 0o640); err != nil {
		return err
	}
	// It must read back as it was meant.
	if _, err := config.Load(path); err != nil {
		return fmt.Errorf("bench config does not load: %w", err)
	}
	return nil
}
