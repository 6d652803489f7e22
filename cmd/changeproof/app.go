package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/changeproof/changeproof/api"
	"github.com/changeproof/changeproof/config"
	"github.com/changeproof/changeproof/enrich"
	"github.com/changeproof/changeproof/ingest"
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
	a.runner = &rules.Runner{
		Eval: &rules.Evaluator{
			Controls: rules.Builtin(),
			Env:      func() control.Env { return env },
			Waivers:  func() []model.Waiver { return waivers },
			Store:    st,
		},
		Repos:    st.Repos,
		InScope:  cfg.Scope.InScope,
		Interval: time.Minute,
		Log:      log.Named("rules"),
	}
	pipe := &enrich.Pipeline{Store: st}
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
	a.api = &api.Server{
		Service: &api.Service{Store: st, InScope: cfg.Scope.InScope},
		Auth:    cfg.Server.RoleOf,
		Webhook: &ghingest.Handler{Secret: func() string { return secret }, Sink: a.committer, Log: log.Named("webhook")},
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
	ctx, cancel := context.WithCancel(context.Background())
	a.cancel = cancel
	go func() {
		defer close(a.done)
		a.runner.Run(ctx)
	}()
	a.srv = &http.Server{Handler: a.api.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := a.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("http server", zap.Error(err))
		}
	}()
	return ln.Addr().String(), nil
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
	return control.Env{
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
