package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/changeproof/changeproof/config"
	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/rules"
	"github.com/changeproof/changeproof/store"
)

func init() {
	registerBench(benchCommand{
		name: "rules",
		usage: "[--data-dir DIR] [--config FILE] [--repo R] [--profile-dir DIR] [--skip-cold]\n" +
			"                  judge a generated store: full evaluation from no findings (cold) and again\n" +
			"                  (warm, nothing changes) and again with every unit due (all judged again, verdicts\n" +
			"                  recorded), then one new review and one merged PR on one repository\n" +
			"                  (incremental), each against the engine's time to read the same rows",
		run: runBenchRules,
	})
}

func runBenchRules(args []string) error {
	fs := flag.NewFlagSet("bench rules", flag.ContinueOnError)
	dataDir := fs.String("data-dir", "./bench-data", "store written by `changeproof bench generate`")
	configPath := fs.String("config", "", "configuration (default DIR/changeproof.yaml, written by generate)")
	repo := fs.String("repo", "", "repository for the incremental events (default: the first)")
	profileDir := fs.String("profile-dir", "", "write CPU profiles of each phase here (cold.pprof, warm.pprof, rejudge.pprof, incremental.pprof)")
	skipCold := fs.Bool("skip-cold", false, "keep the recorded findings: measure only the warm and incremental phases")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *configPath == "" {
		*configPath = filepath.Join(*dataDir, "changeproof.yaml")
	}
	cfg, err := config.Load(*configPath)
	if err != nil {
		return fmt.Errorf("%w (run `changeproof bench generate --data-dir %s` first)", err, *dataDir)
	}
	ctx := context.Background()
	start := time.Now()
	a, err := newAppRoles(ctx, cfg, *dataDir, zap.NewNop(), roles{rules: true})
	if err != nil {
		return err
	}
	defer a.close()
	st := a.store
	// Incremental rounds start at once: what is measured is evaluation,
	// not the pacing that protects ingestion from it.
	a.runner.Debounce, a.runner.MaxDelay, a.runner.Interval = -1, time.Millisecond, time.Hour
	fmt.Printf("store opened in %s, RSS %s\n", secs(time.Since(start)), mib(currentRSS()))

	repos, err := st.Repos(ctx)
	if err != nil {
		return err
	}
	if len(repos) == 0 {
		return errors.New("bench rules: the store holds no repository; run `changeproof bench generate` first")
	}
	if *repo == "" {
		*repo = repos[0]
	}
	if err := printSizes(ctx, st, len(repos)); err != nil {
		return err
	}
	profile := func(name string) func() {
		if *profileDir == "" {
			return func() {}
		}
		f, err := os.Create(filepath.Join(*profileDir, name+".pprof"))
		if err != nil {
			fmt.Fprintln(os.Stderr, "profile:", err)
			return func() {}
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "profile:", err)
			f.Close()
			return func() {}
		}
		return func() { pprof.StopCPUProfile(); f.Close() }
	}
	if *profileDir != "" {
		if err := os.MkdirAll(*profileDir, 0o750); err != nil {
			return err
		}
	}

	rawRead, err := st.ScanEvidence(ctx, "")
	if err != nil {
		return err
	}
	fmt.Printf("raw limit, engine reads every judged row (evidence): %s\n", secs(rawRead))

	// (a) full evaluation, cold: every verdict is new and written.
	if !*skipCold {
		if err := st.ForgetEvaluations(ctx); err != nil {
			return err
		}
		cold, err := measureFull(ctx, a, "cold", profile)
		if err != nil {
			return fmt.Errorf("cold full evaluation: %w", err)
		}
		n := cold.after
		rawWrite, err := st.CopyFindings(ctx)
		if err != nil {
			return err
		}
		fmt.Printf("\nfull evaluation, cold (no findings yet): %s (%s, access %s), %d findings written, peak RSS %s (Go %s)\n",
			secs(cold.took), judgedReport(cold.rep), secs(cold.rep.Access), n, mib(cold.peak), mib(cold.goPeak))
		fmt.Printf("  raw limit: engine reads the evidence %s + inserts the same %d findings %s = %s -> ratio %s\n",
			secs(rawRead), n, secs(rawWrite), secs(rawRead+rawWrite), ratio(cold.took, rawRead+rawWrite))
		if err := printOutcomes(ctx, st); err != nil {
			return err
		}
	}

	// (a) full evaluation, warm: every verdict is compared, none written.
	rawCurrent, err := st.ScanVerdicts(ctx, "")
	if err != nil {
		return err
	}
	warm, err := measureFull(ctx, a, "warm", profile)
	if err != nil {
		return fmt.Errorf("warm full evaluation: %w", err)
	}
	fmt.Printf("\nfull evaluation, warm (verdicts recorded): %s (%s, access %s), %d findings written, peak RSS %s (Go %s)\n",
		secs(warm.took), judgedReport(warm.rep), secs(warm.rep.Access), warm.after-warm.before, mib(warm.peak), mib(warm.goPeak))
	fmt.Printf("  raw limit: engine reads the evidence %s + the current verdicts %s = %s -> ratio %s\n",
		secs(rawRead), secs(rawCurrent), secs(rawRead+rawCurrent), ratio(warm.took, rawRead+rawCurrent))

	// (a) full evaluation, every unit judged again with its verdicts
	// recorded: what serve's start-up does after an upgrade (the binary's
	// revision is part of the fingerprint) or a busy day (every digest
	// changed).
	if err := benchRejudge(ctx, a, rawRead, rawCurrent, profile); err != nil {
		return err
	}

	// (b) incremental: one new event on one repository, through the
	// runner as serve runs it.
	if err := benchIncremental(ctx, a, *repo, profile); err != nil {
		return err
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("\npeak RSS of the process (VmHWM, engine included): %s; Go heap in use now %s\n",
		mib(peakRSS()), mib(int64(ms.HeapInuse)))
	return nil
}

// benchRejudge marks every repository and access system due and times the
// full evaluation that judges them all again, their verdicts recorded, with
// the peak RSS of its repositories' part and its access part.
func benchRejudge(ctx context.Context, a *app, rawRead, rawCurrent time.Duration, profile func(string) func()) error {
	if err := a.store.MarkEvaluationsDue(ctx); err != nil {
		return err
	}
	r, err := measureFull(ctx, a, "rejudge", profile)
	if err != nil {
		return fmt.Errorf("full evaluation of every unit due: %w", err)
	}
	repoPeak, repoGo := r.rss.PeakBetween(r.start, r.start.Add(r.rep.Repo))
	accessPeak, accessGo := r.rss.PeakBetween(r.start.Add(r.rep.Repo), r.start.Add(r.took))
	fmt.Printf("\nfull evaluation, every unit due (verdicts recorded, all judged again): %s (%s, access %s), %d findings written, peak RSS %s (Go %s)\n",
		secs(r.took), judgedReport(r.rep), secs(r.rep.Access), r.after-r.before, mib(r.peak), mib(r.goPeak))
	fmt.Printf("  peak RSS judging the repositories %s (Go %s), the access systems %s (Go %s)\n",
		mib(repoPeak), mib(repoGo), mib(accessPeak), mib(accessGo))
	fmt.Printf("  raw limit: engine reads the evidence %s + the current verdicts %s = %s -> ratio %s\n",
		secs(rawRead), secs(rawCurrent), secs(rawRead+rawCurrent), ratio(r.took, rawRead+rawCurrent))
	return nil
}

// fullRun is one measured full evaluation.
type fullRun struct {
	rep           rules.FullReport
	start         time.Time
	took          time.Duration
	peak, goPeak  int64       // RSS and Go's memory, highest during the run
	rss           *rssSampler // the run's samples, for PeakBetween
	before, after uint64      // physical rows of findings before and after
}

// measureFull runs one full evaluation as phase name (its CPU profile when
// asked for), sampling RSS and counting the findings rows it wrote.
func measureFull(ctx context.Context, a *app, name string, profile func(string) func()) (fullRun, error) {
	var r fullRun
	var err error
	if r.before, err = a.store.CountPhysical(ctx, "findings"); err != nil {
		return r, err
	}
	stop := profile(name)
	r.rss = startRSS()
	r.start = time.Now()
	r.rep, err = a.runner.Full(ctx)
	r.took = time.Since(r.start)
	r.peak, r.goPeak = r.rss.Stop()
	stop()
	if err != nil {
		return r, err
	}
	r.after, err = a.store.CountPhysical(ctx, "findings")
	return r, err
}

// judgedReport says how many repositories and access systems a full
// evaluation judged, of how many.
func judgedReport(rep rules.FullReport) string {
	return fmt.Sprintf("%d of %d repositories judged %s, %d of %d access systems", rep.Judged, rep.Repos, secs(rep.Repo),
		rep.Judges, rep.Systems)
}

func printSizes(ctx context.Context, st *store.Store, repos int) error {
	var parts []string
	for _, t := range []string{"pull_requests", "reviews", "pushes", "deploys", "access_events", "findings"} {
		n, err := st.CountPhysical(ctx, t)
		if err != nil {
			return err
		}
		parts = append(parts, fmt.Sprintf("%s %d", t, n))
	}
	fmt.Printf("store: %d repositories, %s\n", repos, strings.Join(parts, ", "))
	return nil
}

func printOutcomes(ctx context.Context, st *store.Store) error {
	rows, err := st.FindingCounts(ctx)
	if err != nil {
		return err
	}
	byRule := map[string][]string{}
	var order []string
	for _, r := range rows {
		if byRule[r.Rule] == nil {
			order = append(order, r.Rule)
		}
		byRule[r.Rule] = append(byRule[r.Rule], fmt.Sprintf("%s %d", r.Outcome, r.Count))
	}
	for _, rule := range order {
		fmt.Printf("  %-5s %s\n", rule, strings.Join(byRule[rule], ", "))
	}
	return nil
}

// benchIncremental writes one new review (the approver of the repository's
// latest merged pull request asks for changes) and then one new merged pull
// request at the tip of its default branch, and times each from the write
// to its verdicts recorded, through a running Runner.
func benchIncremental(ctx context.Context, a *app, repo string, profile func(string) func()) error {
	st := a.store
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ran := make(chan struct{})
	// The runner serve runs, without its start-up access evaluation
	// (measured above), reporting what it records.
	var mu sync.Mutex
	var changed []model.Finding
	runner := &rules.Runner{Eval: a.eval, Repos: st.Repos, InScope: a.cfg.Scope.InScope, Interval: time.Hour,
		Debounce: -1, MaxDelay: time.Millisecond, Log: zap.NewNop(),
		OnFindings: func(fs []model.Finding) {
			mu.Lock()
			changed = append(changed, fs...)
			mu.Unlock()
		}}
	// Run starts with a round over every repository; mark them first, so
	// that WaitIdle waits for that round rather than racing its start.
	if err := runner.EvaluateAll(ctx); err != nil {
		return err
	}
	go func() { defer close(ran); runner.Run(rctx) }()
	defer func() { cancel(); <-ran }()
	if err := runner.WaitIdle(ctx); err != nil {
		return err
	}
	rawRepo, err := st.ScanEvidence(ctx, repo)
	if err != nil {
		return err
	}
	rawRepoFindings, err := st.ScanVerdicts(ctx, repo)
	if err != nil {
		return err
	}
	raw := rawRepo + rawRepoFindings
	size, err := st.ChangeCount(ctx, repo)
	if err != nil {
		return err
	}
	fmt.Printf("\nincremental, %s (%d changes): raw limit, engine reads its evidence %s + its current verdicts %s = %s\n",
		repo, size, secs(rawRepo), secs(rawRepoFindings), secs(raw))

	pr, err := st.LatestMerged(ctx, repo)
	if err != nil {
		return err
	}
	who := "dev1"
	if pr.Approver != "" {
		who = pr.Approver
	}
	stamp := time.Now().UnixNano()
	review := model.Batch{Reviews: []model.Review{{Repo: repo, PRNumber: pr.Number, ReviewID: stamp, DeliveryID: fmt.Sprintf("bench-inc-%d", stamp),
		Action: "submitted", Reviewer: who, State: "changes_requested", CommitID: pr.Head,
		SubmittedAt: pr.MergedAt.T().Add(-time.Second), ReceivedAt: time.Now().UTC()}}}

	tipSHA, tipAt, err := st.BranchTip(ctx, repo)
	if err != nil {
		return err
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	merged := now
	if t := tipAt.Add(time.Second); t.After(now) {
		merged = t
	}
	number := int(stamp % 1_000_000_000)
	merge := fmt.Sprintf("%040x", stamp)
	head := fmt.Sprintf("%040x", stamp+1)
	newPR := model.Batch{
		PullRequests: []model.PullRequest{{Repo: repo, Number: number, DeliveryID: fmt.Sprintf("bench-inc-pr-%d", stamp), Action: "closed",
			State: "closed", Merged: true, MergedAt: merged, MergeCommitSHA: merge, HeadSHA: head, HeadRef: "bench", BaseRef: "main",
			DefaultBranch: "main", Author: "dev3", MergedBy: "dev4", Title: "PAY-1: incremental", URL: "https://github.com/" + repo,
			UpdatedAt: merged, ReceivedAt: now}},
		Reviews: []model.Review{{Repo: repo, PRNumber: number, ReviewID: stamp + 1, DeliveryID: fmt.Sprintf("bench-inc-rv-%d", stamp),
			Action: "submitted", Reviewer: "dev5", State: "approved", CommitID: head, SubmittedAt: merged.Add(-time.Minute), ReceivedAt: now}},
		Pushes: []model.Push{{Repo: repo, Ref: "refs/heads/main", Before: tipSHA, After: merge, DeliveryID: fmt.Sprintf("bench-inc-push-%d", stamp),
			DefaultBranch: "main", Pusher: "dev4", PushedAt: merged, CommitSHAs: []string{merge}, Messages: []string{"Merge pull request"}, ReceivedAt: now}},
	}

	stop := profile("incremental")
	defer stop()
	for _, ev := range []struct {
		name  string
		batch model.Batch
	}{
		{fmt.Sprintf("new review (changes requested on %s#%d)", repo, pr.Number), review},
		{fmt.Sprintf("new merged pull request %s#%d with its push and approval", repo, number), newPR},
	} {
		if err := st.Write(ctx, ev.batch); err != nil {
			return err
		}
		mu.Lock()
		changed = nil
		mu.Unlock()
		t := time.Now()
		runner.Notify(repo)
		if err := runner.WaitIdle(ctx); err != nil {
			return err
		}
		took := time.Since(t)
		mu.Lock()
		var what []string
		for _, f := range changed {
			what = append(what, f.Rule+" "+string(f.Outcome))
		}
		mu.Unlock()
		fmt.Printf("  %s: verdicts recorded %s after the write (%d changed: %s) -> ratio %s\n",
			ev.name, secs(took), len(changed), strings.Join(what, ", "), ratio(took, raw))
	}
	return nil
}
