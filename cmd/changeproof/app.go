package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/changeproof/changeproof/api"
	"github.com/changeproof/changeproof/config"
	"github.com/changeproof/changeproof/enrich"
	"github.com/changeproof/changeproof/ingest"
	"github.com/changeproof/changeproof/ingest/deploy"
	ghingest "github.com/changeproof/changeproof/ingest/github"
	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/rules"
	"github.com/changeproof/changeproof/rules/control"
	"github.com/changeproof/changeproof/store"
	"github.com/changeproof/changeproof/store/chdb"
)

// app is the embedded stack: receiver, pipeline, rule evaluation and API in
// one process over the embedded engine.
type app struct {
	cfg       config.Config
	log       *zap.Logger
	db        store.DB
	store     *store.Store
	committer *ingest.Committer
	ops       *opsSink
	eval      *rules.Evaluator
	runner    *rules.Runner
	api       *api.Server
	srv       *http.Server
	cancel    context.CancelFunc
	done      chan struct{}
}

// openStore opens and migrates the store the configuration names.
func openStore(ctx context.Context, cfg config.Config, dataDir string) (store.DB, *store.Store, error) {
	if cfg.ClickHouse.Addr != "" {
		return nil, nil, errors.New("clickhouse.addr: the ClickHouse server backend is not in this build yet; leave it empty to use the embedded engine under --data-dir")
	}
	db, err := chdb.Open(chdb.Options{DataDir: dataDir, Database: cfg.ClickHouse.Database})
	if err != nil {
		return nil, nil, err
	}
	if err := store.Migrate(ctx, db); err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("apply migrations: %w", err)
	}
	return db, store.New(db), nil
}

func newApp(ctx context.Context, cfg config.Config, dataDir string, log *zap.Logger) (*app, error) {
	if len(cfg.Kafka.Brokers) > 0 {
		return nil, errors.New("kafka.brokers: the distributed mode is not in this build yet; leave it empty for the embedded mode")
	}
	db, st, err := openStore(ctx, cfg, dataDir)
	if err != nil {
		return nil, err
	}
	a := &app{cfg: cfg, log: log, db: db, store: st, done: make(chan struct{})}
	env := controlEnv(cfg)
	waivers := waiversOf(cfg)
	if err := st.RecordWaivers(ctx, waivers, time.Now().UTC()); err != nil {
		db.Close()
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
	pipe := &enrich.Pipeline{Store: st, ServiceOf: serviceOf(cfg)}
	a.committer = ingest.NewCommitter(ingest.SinkFunc(func(ctx context.Context, ds []model.Delivery) error {
		res, err := pipe.Process(ctx, ds)
		if err != nil {
			return err
		}
		if res.Dead > 0 {
			log.Warn("deliveries stored as dead letters", zap.Int("count", res.Dead))
		}
		a.runner.Notify(res.Repos...)
		return nil
	}), 1000)
	secret := cfg.GitHub.WebhookSecret
	a.ops = newOpsSink(st, a.runner, a.eval, log.Named("access"))
	services := map[string][]string{}
	for name, svc := range cfg.Scope.Services {
		services[name] = svc.Repos
	}
	svc := &api.Service{Store: st, InScope: cfg.Scope.InScope}
	src := auditSource(cfg, svc)
	a.api = &api.Server{
		Service: svc,
		Audit:   &src,
		Version: Version,
		Auth:    cfg.Server.RoleOf,
		Webhook: &ghingest.Handler{Secret: func() string { return secret }, Sink: a.committer, Log: log.Named("webhook")},
		Deploys: &ingest.DeployHandler{Sink: a.ops, Options: func() deploy.Options { return deploy.Options{Services: services} },
			Log: log.Named("deploys")},
		Access: &ingest.AccessHandler{Sink: a.ops, BreakGlassRoles: func(system string) []string {
			return cfg.Access.Systems[system].BreakGlassRoles
		}, Log: log.Named("access")},
		Ready: func(ctx context.Context) error {
			var one []struct {
				N int `json:"n"`
			}
			return db.Query(ctx, "SELECT 1 AS n", nil, &one)
		},
		Log: log.Named("api"),
	}
	return a, nil
}

// start listens on addr and runs the rule evaluation loop. It returns the
// address actually bound.
func (a *app) start(addr string) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("listen on %s: %w", addr, err)
	}
	a.startRules()
	a.srv = &http.Server{Handler: a.api.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := a.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("http server", zap.Error(err))
		}
	}()
	return ln.Addr().String(), nil
}

// startRules runs rule evaluation in the background until close.
func (a *app) startRules() {
	ctx, cancel := context.WithCancel(context.Background())
	a.cancel = cancel
	go func() {
		defer close(a.done)
		a.runner.Run(ctx)
	}()
}

// waitIdle blocks until every accepted event has been judged.
func (a *app) waitIdle(ctx context.Context) error {
	a.ops.pending.Wait()
	return a.runner.WaitIdle(ctx)
}

// close stops accepting, finishes queued writes and evaluation, and closes
// the store.
func (a *app) close() {
	if a.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_ = a.srv.Shutdown(ctx)
		cancel()
	}
	a.committer.Close()
	a.ops.close()
	if a.cancel != nil {
		a.cancel()
		<-a.done
	}
	a.db.Close()
}

func controlEnv(cfg config.Config) control.Env {
	p := cfg.Policy
	ids := make([]model.Identity, 0, len(cfg.Identities))
	for _, id := range cfg.Identities {
		ids = append(ids, model.Identity{Name: id.Name, Logins: id.Logins, TerminatedAt: id.TerminatedAt.Time})
	}
	systems := map[string]control.System{}
	for name, sys := range cfg.Access.Systems {
		systems[name] = control.System{Authorized: sys.Authorized, BreakGlassRoles: sys.BreakGlassRoles}
	}
	return control.Env{
		ProductionEnvironments: cfg.Scope.ProductionEnvironments,
		Systems:                systems,
		Policy: control.Policy{
			MinApprovals:                 p.MinApprovals,
			RequireApprovalOnFinalCommit: p.RequireApprovalOnFinalCommit,
			EmergencyLabels:              p.EmergencyLabels,
			EmergencyReviewWindow:        p.EmergencyReviewWindow.Std(),
			RequireTicket:                p.RequireTicket,
			TicketPattern:                p.TicketRegexp(),
			Bots:                         p.Bots,
			BotChanges:                   p.BotChanges,
			DirectPushExempt:             p.DirectPushExempt,
			RequireAdminEnforcement:      p.RequireAdminEnforcement,
		},
		Identities: model.NewIdentities(ids),
	}
}

func waiversOf(cfg config.Config) []model.Waiver {
	ws := make([]model.Waiver, 0, len(cfg.Waivers))
	for _, w := range cfg.Waivers {
		ws = append(ws, model.Waiver{Rule: w.Rule, Subject: w.Subject, Reason: w.Reason, ApprovedBy: w.ApprovedBy, Expires: w.Expires.Time})
	}
	return ws
}

// serviceOf maps a repository to the service scope.services names for it,
// for GitHub deployment_status events (which name no service).
func serviceOf(cfg config.Config) func(repo string) string {
	return func(repo string) string {
		names := make([]string, 0, len(cfg.Scope.Services))
		for name := range cfg.Scope.Services {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			for _, r := range cfg.Scope.Services[name].Repos {
				if strings.EqualFold(r, repo) {
					return name
				}
			}
		}
		return ""
	}
}

// opsSink stores deploy and access events and has them judged: deploys by
// re-evaluating their repositories, access events by a worker that judges
// each stored batch. Judging is off the upload's path: a stored event is
// judged even if the process dies first, by the full access evaluation at
// the next start.
type opsSink struct {
	store   *store.Store
	runner  *rules.Runner
	eval    *rules.Evaluator
	log     *zap.Logger
	queue   chan []model.AccessEvent
	pending sync.WaitGroup
	stopped chan struct{}
}

func newOpsSink(st *store.Store, runner *rules.Runner, eval *rules.Evaluator, log *zap.Logger) *opsSink {
	o := &opsSink{store: st, runner: runner, eval: eval, log: log,
		queue: make(chan []model.AccessEvent, 4), stopped: make(chan struct{})}
	go o.judge()
	return o
}

func (o *opsSink) judge() {
	defer close(o.stopped)
	for es := range o.queue {
		changed, err := o.eval.EvaluateAccess(context.Background(), es)
		if err != nil {
			o.log.Error("judge access events (judged again at the next start)", zap.Int("events", len(es)), zap.Error(err))
		} else if o.runner.OnFindings != nil && len(changed) > 0 {
			o.runner.OnFindings(changed)
		}
		o.pending.Done()
	}
}

// close judges what is queued and stops the worker.
func (o *opsSink) close() {
	close(o.queue)
	<-o.stopped
}

func (o *opsSink) AcceptDeploys(ctx context.Context, ds []model.Deploy) error {
	b := model.Batch{Deploys: ds}
	if err := o.store.Write(ctx, b); err != nil {
		return err
	}
	o.runner.Notify(b.Repos()...)
	return nil
}

// AcceptAccess stores the events and queues them for judging; a full queue
// holds the upload back, so judging never falls unboundedly behind.
func (o *opsSink) AcceptAccess(ctx context.Context, es []model.AccessEvent) error {
	if err := o.store.WriteAccess(ctx, es); err != nil {
		return err
	}
	o.pending.Add(1)
	o.queue <- es
	return nil
}
