package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"go.uber.org/zap"

	"github.com/changeproof/changeproof/alert"
	"github.com/changeproof/changeproof/alert/slack"
	"github.com/changeproof/changeproof/api"
	"github.com/changeproof/changeproof/config"
	"github.com/changeproof/changeproof/ingest"
	"github.com/changeproof/changeproof/ingest/backfill"
	"github.com/changeproof/changeproof/ingest/deploy"
	ghingest "github.com/changeproof/changeproof/ingest/github"
	"github.com/changeproof/changeproof/ingest/spool"
	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/pipeline"
	"github.com/changeproof/changeproof/rules"
	"github.com/changeproof/changeproof/rules/control"
	"github.com/changeproof/changeproof/store"
	"github.com/changeproof/changeproof/store/chdb"
	"github.com/changeproof/changeproof/store/clickhouse"
	"github.com/changeproof/changeproof/transport"
)

// roles are the parts of changeproof a process runs (serve --roles).
type roles struct{ receiver, pipeline, rules, api bool }

var allRoles = roles{true, true, true, true}

// The store is the alert outbox and the evidence the controls read.
var _ alert.Outbox = (*store.Store)(nil)

// parseRoles reads a comma-separated subset of receiver, pipeline, rules, api.
func parseRoles(s string) (roles, error) {
	var r roles
	for _, name := range strings.Split(s, ",") {
		switch strings.TrimSpace(name) {
		case "receiver":
			r.receiver = true
		case "pipeline":
			r.pipeline = true
		case "rules":
			r.rules = true
		case "api":
			r.api = true
		case "all":
			r = allRoles
		default:
			return r, fmt.Errorf("--roles: unknown role %q (want receiver, pipeline, rules, api, or all)", name)
		}
	}
	return r, nil
}

func (r roles) String() string {
	var names []string
	for _, x := range []struct {
		on   bool
		name string
	}{{r.receiver, "receiver"}, {r.pipeline, "pipeline"}, {r.rules, "rules"}, {r.api, "api"}} {
		if x.on {
			names = append(names, x.name)
		}
	}
	return strings.Join(names, ",")
}

// app is one changeproof process: some or all of the receiver, pipeline,
// rules and api roles, over the embedded engine or a ClickHouse server, with
// or without Kafka between receiver and pipeline.
type app struct {
	cfg        config.Config
	roles      roles
	log        *zap.Logger
	db         store.DB // nil for a receiver that only produces to Kafka
	store      *store.Store
	committer  *ingest.Committer // the receiver's group commit, into Kafka or the spool
	intake     *pipeline.Intake  // the receivers' way into the log (every source)
	spool      *spool.Spool      // embedded: the durable log, loaded into the pipeline
	spoolRan   chan struct{}
	producer   *transport.Producer
	consumer   *transport.Consumer
	loader     *pipeline.Loader // the log's consumer side: derive, store, have judged
	judges     *pipeline.Judges // nil unless this process runs the rules
	eval       *rules.Evaluator
	runner     *rules.Runner
	alerts     *alert.Sender        // nil when Slack is not configured or rules do not run here
	reconciler *backfill.Reconciler // nil without github.token or app_id, or reconcile_every
	// githubReads is held by a reconciliation round or a backfill job:
	// one reads GitHub at a time (they would read the same pages and
	// share the rate limit and the cursors).
	githubReads sync.Mutex
	alertsOff   context.CancelFunc
	alertsRan   chan struct{}
	api         *api.Server
	srv         *http.Server
	cancel      context.CancelFunc
	done        chan struct{}
	workers     sync.WaitGroup

	// The processing clock graced alerts wait on (nil without a
	// pipeline), and the receivers' load, which loading and judging yield
	// to (nil without a receiver).
	watermark *pipeline.Watermark
	pressure  *pipeline.Pressure
	// background marks the contexts of the work that may lag (loading,
	// judging, alerting) so the embedded engine runs it below the
	// receivers' CPU priority; nil where there is nothing to yield to.
	background func(context.Context) context.Context
	// backlogLoaded releases the watermark's hold on the spool's backlog
	// from the previous run, once it is loaded.
	backlogLoaded func()
}

// openStore opens and migrates the store the configuration names: a
// ClickHouse server when clickhouse.addr is set, else the embedded engine
// in dataDir.
func openStore(ctx context.Context, cfg config.Config, dataDir string) (store.DB, *store.Store, error) {
	return openStoreNice(ctx, cfg, dataDir, 0)
}

// backgroundNice is the nice value of the embedded engine's background
// work in a process that also receives (chdb.Options.BackgroundNice): at
// 10 a busy engine thread gets about a tenth of a core a busy receiver
// thread gets; idle cores still go to the engine whole. A variable so the
// receiver benchmarks can measure without it (CHANGEPROOF_BENCH_PRIORITY=0).
var backgroundNice = 10

// openStoreNice is openStore with the embedded engine's background work
// at the given nice value (0: the process's own).
func openStoreNice(ctx context.Context, cfg config.Config, dataDir string, nice int) (store.DB, *store.Store, error) {
	var db store.DB
	if cfg.ClickHouse.Addr != "" {
		o := clickhouse.Options{Addr: cfg.ClickHouse.Addr, Database: cfg.ClickHouse.Database, User: cfg.ClickHouse.User,
			Password: cfg.ClickHouse.Password, Cluster: cfg.ClickHouse.Cluster}
		if cfg.ClickHouse.TLS {
			o.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		cdb, err := clickhouse.Open(ctx, o)
		if err != nil {
			return nil, nil, fmt.Errorf("clickhouse %s: %w", cfg.ClickHouse.Addr, err)
		}
		db = cdb
	} else {
		cdb, err := chdb.Open(chdb.Options{DataDir: dataDir, Database: cfg.ClickHouse.Database, BackgroundNice: nice})
		if err != nil {
			return nil, nil, err
		}
		db = cdb
	}
	if err := migrate(ctx, db, cfg); err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("apply migrations: %w", err)
	}
	return db, store.New(db), nil
}

func kafkaOptions(cfg config.Config, log *zap.Logger) transport.Options {
	k := cfg.Kafka
	o := transport.Options{Brokers: k.Brokers, TopicPrefix: k.TopicPrefix, Group: k.Group, Partitions: k.Partitions,
		ReplicationFactor: k.ReplicationFactor, Log: log}
	if k.TLS {
		o.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	o.SASL.Mechanism, o.SASL.Username, o.SASL.Password = k.SASL.Mechanism, k.SASL.Username, k.SASL.Password
	return o
}

func newApp(ctx context.Context, cfg config.Config, dataDir string, log *zap.Logger) (*app, error) {
	return newAppRoles(ctx, cfg, dataDir, log, allRoles)
}

func newAppRoles(ctx context.Context, cfg config.Config, dataDir string, log *zap.Logger, r roles) (a *app, err error) {
	distributed := len(cfg.Kafka.Brokers) > 0
	if !distributed && r.receiver != r.pipeline {
		return nil, fmt.Errorf("--roles %s: without kafka.brokers the receiver writes straight into the pipeline, so the two run together", r)
	}
	if r == (roles{}) {
		return nil, errors.New("--roles: empty")
	}
	// The cleanup holds its own reference: every error return below sets
	// the named result a to nil.
	built := &app{cfg: cfg, roles: r, log: log, done: make(chan struct{})}
	a = built
	if r.receiver {
		a.pressure = &pipeline.Pressure{}
	}
	defer func() {
		if err != nil {
			built.closeParts()
		}
	}()
	if r.pipeline || r.rules || r.api {
		nice := 0
		if r.receiver && cfg.ClickHouse.Addr == "" && backgroundNice > 0 {
			// The engine shares the cores with the receivers: its
			// background work runs below their priority.
			nice, a.background = backgroundNice, chdb.Background
		}
		if a.db, a.store, err = openStoreNice(ctx, cfg, dataDir, nice); err != nil {
			return nil, err
		}
	}
	kopts := kafkaOptions(cfg, log.Named("kafka"))
	if distributed {
		if err := kopts.Validate(); err != nil {
			return nil, err
		}
		if err := transport.EnsureTopics(ctx, kopts); err != nil {
			return nil, fmt.Errorf("kafka topics: %w", err)
		}
	}
	st := a.store
	if st != nil && cfg.ClickHouse.Addr == "" {
		// The embedded engine is this process's alone (the data dir is
		// locked), so every write of its raw log passes through st: it can
		// keep the log's keys in memory and ask the engine only about ids
		// that may be stored.
		if err := st.EnableKeyFilter(ctx); err != nil {
			return nil, err
		}
	}
	if st != nil && distributed && r.pipeline {
		// Several pipeline workers write the raw log: each keeps its own
		// hash chain, named for this process, so none forks another's.
		host, _ := os.Hostname()
		st.SetChain(fmt.Sprintf("%s-%d-%d", host, os.Getpid(), time.Now().Unix()))
	}
	env := controlEnv(cfg)
	waivers := waiversOf(cfg)
	if st != nil {
		if err := st.RecordWaivers(ctx, waivers, time.Now().UTC()); err != nil {
			return nil, err
		}
		a.eval = &rules.Evaluator{
			Controls:       rules.Builtin(),
			AccessControls: rules.BuiltinAccess(),
			Env:            func() control.Env { return env },
			Waivers:        func() []model.Waiver { return waivers },
			Store:          st,
		}
		a.runner = &rules.Runner{
			Eval:          a.eval,
			Repos:         st.Repos,
			InScope:       cfg.Scope.InScope,
			AccessSystems: st.AccessSystems,
			AccessPage:    st.AccessEvents,
			Interval:      time.Minute,
			Log:           log.Named("rules"),
		}
		if p := a.pressure; p != nil {
			// Judging may lag; accepting may not.
			a.runner.Yield = func(ctx context.Context) func() { return p.Share(ctx, "rules", time.Second) }
		}
		// Evidence written by other processes reaches this one's rules
		// only by polling.
		if r.rules && !r.pipeline {
			a.runner.Changed = st.ReposChangedSince
			a.runner.AccessChanged = st.AccessReceivedSince
		}
		if r.rules {
			if a.alerts, err = newAlerts(cfg, st, log.Named("alerts")); err != nil {
				return nil, err
			}
			if a.alerts != nil {
				// Alerts are queued durably before the verdicts that owe
				// them are recorded: a crash in between cannot lose one.
				sender := a.alerts
				a.eval.BeforeRecord = func(ctx context.Context, changed []model.Finding) error {
					_, err := sender.Enqueue(ctx, changed)
					return err
				}
			}
		}
		// What the pipeline stores is judged here when this process runs
		// the rules; otherwise the rules process polls for it.
		var judge pipeline.Judge
		if r.rules {
			runner := a.runner
			// The pipeline hands over only events new to the store: they
			// have no verdict to read (EvaluateNewAccess).
			evaluate := a.eval.EvaluateNewAccess
			if bg, ev := a.background, a.eval; bg != nil {
				evaluate = func(ctx context.Context, es []model.AccessEvent) ([]model.Finding, error) {
					return ev.EvaluateNewAccess(bg(ctx), es)
				}
			}
			a.judges = pipeline.NewJudges(runner.Notify, evaluate, func(fs []model.Finding) {
				if runner.OnFindings != nil {
					runner.OnFindings(fs)
				}
			}, log.Named("access"))
			a.judges.NotifyOrgs = runner.NotifyOrgs // an organisation ruleset changed
			judge = a.judges
		}
		a.watermark = &pipeline.Watermark{Distributed: distributed}
		if r.rules {
			a.watermark.Mark, a.watermark.Judged = a.runner.Mark, a.runner.Judged
		}
		if a.alerts != nil && r.pipeline {
			// A direct push's grace runs on the processing clock of the
			// pipeline that judged it (README, "Alerts").
			a.alerts.Processed = a.watermark.Clock
		}
		a.loader = &pipeline.Loader{Deriver: &pipeline.Deriver{Store: st, ServiceOf: serviceOf(cfg)}, Judge: judge,
			Watermark: a.watermark, Pressure: a.pressure, Log: log.Named("pipeline")}
	}

	// The receivers append every source to one durable log: Kafka, or the
	// spool that this process's pipeline loads.
	switch {
	case r.receiver && distributed:
		if a.producer, err = transport.NewProducer(kopts); err != nil {
			return nil, err
		}
		a.committer = ingest.NewCommitter(a.producer, 1000)
		a.intake = &pipeline.Intake{Log: a.committer, Pressure: a.pressure}
		if st != nil {
			a.intake.Known = st.KnownSHA
		}
	case r.receiver:
		// A 202 waits for an fsync of the spool, not for the engine: the
		// loader moves records into the pipeline in large batches.
		if a.spool, err = spool.Open(filepath.Join(dataDir, "spool"), spool.Options{}); err != nil {
			return nil, err
		}
		a.committer = ingest.NewCommitter(a.spool, 1000)
		a.intake = &pipeline.Intake{Log: a.committer, Known: st.KnownSHA, Track: true, Watermark: a.watermark, Pressure: a.pressure}
		a.loader.Intake = a.intake
		if a.spool.Backlog() > 0 {
			// Records the last run accepted and did not load: the clock
			// waits before now until they are loaded (startRules).
			a.backlogLoaded = a.watermark.Hold(time.Now())
		}
	}
	if st != nil && r.rules && (cfg.GitHub.Token != "" || cfg.GitHub.App()) && cfg.GitHub.ReconcileEvery > 0 {
		if a.reconciler, err = newReconciler(cfg, storeState{st: st, log: a.intake}, a.runner, log.Named("reconcile")); err != nil {
			return nil, err
		}
		a.reconciler.Exclusive = &a.githubReads
	}
	if r.pipeline && distributed {
		a.consumer, err = transport.NewConsumer(kopts, transport.Handlers{
			Deliveries: a.loader.Load,
			Through:    a.watermark.Through,
			DeadLetter: func(ctx context.Context, dls []transport.DeadLetter) error {
				var b model.Batch
				for _, d := range dls {
					b.DeadLetters = append(b.DeadLetters, d.Model())
				}
				return st.Write(ctx, b)
			},
		})
		if err != nil {
			return nil, err
		}
	}

	a.api = &api.Server{Auth: cfg.Server.RoleOf, Version: Version, Log: log.Named("api")}
	if r.api {
		svc := &api.Service{Store: st, InScope: cfg.Scope.InScope, Rules: ruleIDs()}
		src := auditSource(cfg, svc)
		a.api.Service, a.api.Audit = svc, &src
		a.api.Admin = a.newAdmin()
		if err := a.wireAuditor(cfg, svc, src); err != nil {
			return nil, err
		}
	}
	if r.receiver {
		secret := cfg.GitHub.WebhookSecret
		services := map[string][]string{}
		for name, svc := range cfg.Scope.Services {
			services[name] = svc.Repos
		}
		webhook := &ghingest.Handler{Secret: func() string { return secret }, Sink: a.intake, Log: log.Named("webhook")}
		if rc := a.reconciler; rc != nil && cfg.GitHub.App() {
			// An App installation that gained repositories is reconciled
			// at once rather than at the next round.
			webhook.Accepted = func(d model.Delivery) {
				if installationEvent(d) {
					rc.Wake()
				}
			}
		}
		a.api.Webhook = webhook
		a.api.Deploys = &ingest.DeployHandler{Sink: a.intake, Options: func() deploy.Options { return deploy.Options{Services: services} },
			Log: log.Named("deploys")}
		a.api.Access = &ingest.AccessHandler{Sink: a.intake, BreakGlassRoles: func(system string) []string {
			return cfg.Access.Systems[system].BreakGlassRoles
		}, Timezone: func(system string) string { return cfg.Access.Systems[system].Timezone },
			ReadTimeout: cfg.Server.ReadTimeout.Std(), Log: log.Named("access")}
	}
	a.api.Ready = a.ready
	return a, nil
}

// ready answers /readyz: the store answers, the pipeline is storing what
// the log holds, and Kafka is reachable when this process produces to it.
func (a *app) ready(ctx context.Context) error {
	if a.loader != nil {
		if err := a.loader.Ready(); err != nil {
			return err
		}
	}
	if a.db != nil {
		var one []struct {
			N int `json:"n"`
		}
		if err := a.db.Query(ctx, "SELECT 1 AS n", nil, &one); err != nil {
			return fmt.Errorf("store: %w", err)
		}
	}
	if a.producer != nil {
		if err := transport.EnsureTopics(ctx, kafkaOptions(a.cfg, a.log)); err != nil {
			return fmt.Errorf("kafka: %w", err)
		}
	}
	return nil
}

// start listens on addr and runs the rule evaluation loop. It returns the
// address actually bound.
func (a *app) start(addr string) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("listen on %s: %w", addr, err)
	}
	a.srv = newHTTPServer(a.cfg.Server, a.api.Handler(), a.log)
	if a.cfg.Server.TLSCertFile != "" {
		cert, err := tls.LoadX509KeyPair(a.cfg.Server.TLSCertFile, a.cfg.Server.TLSKeyFile)
		if err != nil {
			ln.Close()
			return "", fmt.Errorf("server.tls_cert_file, server.tls_key_file: %w", err)
		}
		a.srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
		ln = tls.NewListener(ln, a.srv.TLSConfig)
	}
	a.startRules()
	go func() {
		if err := a.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("http server", zap.Error(err))
		}
	}()
	return ln.Addr().String(), nil
}

// startRules runs the background roles until close: rule evaluation, and
// the Kafka consumer of a pipeline.
func (a *app) startRules() {
	ctx, cancel := context.WithCancel(context.Background())
	a.cancel = cancel
	if a.background != nil {
		// Everything started here may lag the receivers.
		ctx = a.background(ctx)
	}
	if a.consumer != nil {
		a.workers.Add(1)
		go func() {
			defer a.workers.Done()
			if err := a.consumer.Run(ctx); err != nil {
				a.log.Error("kafka consumer stopped", zap.Error(err))
			}
		}()
	}
	if a.spool != nil && a.backlogLoaded != nil {
		go func() {
			if a.spool.WaitLoaded(ctx) == nil {
				a.backlogLoaded()
			}
		}()
	}
	if a.spool != nil {
		a.spoolRan = make(chan struct{})
		go func() {
			defer close(a.spoolRan)
			if err := a.spool.Run(ctx, a.loader.Load); err != nil && !errors.Is(err, context.Canceled) {
				a.log.Error("spool loader stopped", zap.Error(err))
			}
		}()
	}
	if a.reconciler != nil {
		a.workers.Add(1)
		go func() {
			defer a.workers.Done()
			_ = a.reconciler.Run(ctx)
		}()
	}
	go func() {
		defer close(a.done)
		if a.roles.rules && a.runner != nil {
			a.runner.Run(ctx)
		}
	}()
	if a.alerts != nil {
		// The sender outlives the runner at close, so an alert the last
		// evaluation queued still goes out.
		actx, off := context.WithCancel(context.Background())
		if a.background != nil {
			actx = a.background(actx)
		}
		a.alertsOff, a.alertsRan = off, make(chan struct{})
		go func() {
			defer close(a.alertsRan)
			if err := a.alerts.Run(actx); err != nil {
				a.log.Error("alerts stopped", zap.Error(err))
			}
		}()
	}
}

// newAlerts builds the Slack sender, or nil when no Slack is configured.
func newAlerts(cfg config.Config, st *store.Store, log *zap.Logger) (*alert.Sender, error) {
	sc := slack.Config{WebhookURL: cfg.Alerts.Slack.WebhookURL, Token: cfg.Alerts.Slack.Token,
		Channel: cfg.Alerts.Slack.Channel, BaseURL: cfg.Alerts.Slack.BaseURL}
	if !sc.Enabled() {
		return nil, nil
	}
	tr, err := slack.New(sc, nil)
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	for _, d := range rules.Catalogue() {
		names[d.ID] = d.Name
	}
	s := &alert.Sender{Outbox: st, Transport: tr, Renderer: alert.Renderer{Names: names, APIBase: cfg.Alerts.APIURL},
		Grace: cfg.Alerts.Grace.Std(), Digest: cfg.Alerts.Digest.Std(), Log: log}
	if cfg.ClickHouse.Addr == "" {
		// The embedded engine belongs to this process alone: no other
		// sender can race for a lease, so claims need not settle, and a
		// lease left by a killed predecessor need not hold long.
		s.Settle = -1
		s.Lease = 10 * time.Second
	}
	return s, s.Validate()
}

// waitIdle blocks until every accepted event has been judged.
func (a *app) waitIdle(ctx context.Context) error {
	if a.spool != nil && a.spoolRan != nil {
		if err := a.spool.WaitLoaded(ctx); err != nil {
			return err
		}
	}
	if a.judges != nil {
		a.judges.Wait()
	}
	if a.runner == nil {
		return nil
	}
	return a.runner.WaitIdle(ctx)
}

// close stops accepting, finishes queued writes and evaluation, and closes
// the store.
func (a *app) close() {
	if a.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), a.shutdownBudget()/3)
		_ = a.srv.Shutdown(ctx)
		cancel()
	}
	if a.api != nil && a.api.Admin != nil {
		a.api.Admin.Stop() // a running backfill ends; its cursors resume it next time
	}
	if a.committer != nil {
		a.committer.Close() // what the receiver accepted is in the spool (or Kafka)
	}
	if a.spool != nil {
		_ = a.spool.Close()
		if a.spoolRan != nil {
			// Load what is spooled before the rules stop, so it is judged now;
			// whatever a failing store leaves is loaded at the next start.
			select {
			case <-a.spoolRan:
			case <-time.After(30 * time.Second):
				a.log.Warn("spool not drained at shutdown; it is loaded at the next start", zap.Int64("backlog_bytes", a.spool.Backlog()))
			}
		}
	}
	if a.cancel != nil {
		a.cancel()
		<-a.done
		a.workers.Wait()
	}
	if a.spoolRan != nil {
		<-a.spoolRan
	}
	if a.judges != nil {
		a.judges.Close() // judges what is queued, which may queue alerts
		a.judges = nil
	}
	if a.alertsOff != nil {
		ctx, cancel := context.WithTimeout(context.Background(), a.shutdownBudget()/3)
		_ = a.alerts.Flush(ctx)
		cancel()
		a.alertsOff()
		<-a.alertsRan
	}
	a.closeParts()
}

// closeParts releases what newAppRoles built, in dependency order.
func (a *app) closeParts() {
	if a.committer != nil {
		a.committer.Close()
	}
	if a.spool != nil {
		_ = a.spool.Close()
	}
	if a.producer != nil {
		_ = a.producer.Close()
	}
	if a.judges != nil {
		a.judges.Close()
	}
	if a.db != nil {
		a.db.Close()
	}
}

// migrate applies the migrations; on a cluster each statement is rewritten
// for replicated tables with distributed fronts.
func migrate(ctx context.Context, db store.DB, cfg config.Config) error {
	return store.Migrate(ctx, store.OnCluster(db, cfg.ClickHouse.Cluster, cfg.ClickHouse.Database))
}

var reconcileLearned = promauto.NewCounter(prometheus.CounterOpts{
	Name: "changeproof_reconcile_learned_changes_total",
	Help: "Merged pull requests first learned by reconciliation: each is a webhook GitHub never delivered."})

// newReconciler backfills the in-scope repositories every
// github.reconcile_every, so a lost webhook is a late finding, not a
// missing one.
func newReconciler(cfg config.Config, state storeState, runner *rules.Runner, log *zap.Logger) (*backfill.Reconciler, error) {
	st := state.st
	gh, err := newGitHubReader(cfg.GitHub)
	if err != nil {
		return nil, err
	}
	rc := &backfill.Reconciler{
		Options: gh.options(backfill.Options{Contributors: cfg.Policy.ExcludeContributors, RequiredChecks: cfg.Policy.RequiredChecks}),
		State:   state,
		Sink: backfill.SinkFunc(func(ctx context.Context, b model.Batch) error {
			if err := st.Write(ctx, b); err != nil {
				return err
			}
			runner.Notify(b.Repos()...)
			return nil
		}),
		Repos: func(ctx context.Context) ([]string, error) {
			all, err := st.Repos(ctx)
			var in []string
			for _, r := range all {
				if cfg.Scope.InScope(r) {
					in = append(in, r)
				}
			}
			return in, err
		},
		Known: st.MergedNumbers,
		Learned: func(repo string, numbers []int) {
			reconcileLearned.Add(float64(len(numbers)))
			log.Warn("reconciliation found merged pull requests no webhook delivered", zap.String("repo", repo), zap.Ints("numbers", numbers))
		},
		Every:   cfg.GitHub.ReconcileEvery.Std(),
		OnError: func(err error) { log.Error("reconciliation round failed (retried next round)", zap.Error(err)) },
	}
	if gh.app != nil {
		log.Info("reconciling as a GitHub App", zap.Int("app_id", cfg.GitHub.AppID), zap.Ints("installations", cfg.GitHub.AppInstallationIDs))
		// Each round reads the App's installations afresh, so a
		// repository added to an installation is reconciled from then on.
		rc.Repos = func(ctx context.Context) ([]string, error) {
			all, err := gh.installed(ctx, nil)
			var in []string
			for _, r := range all {
				if cfg.Scope.InScope(r) {
					in = append(in, r)
				}
			}
			return in, err
		}
	}
	return rc, nil
}
