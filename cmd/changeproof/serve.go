package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/changeproof/changeproof/config"
	"github.com/changeproof/changeproof/store"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// common are the flags every command accepts.
type common struct {
	configPath string
	dataDir    string
}

func (c *common) register(fs *pflag.FlagSet) {
	fs.StringVar(&c.configPath, "config", "", "configuration file (YAML); empty = defaults and CHANGEPROOF_* variables")
	fs.StringVar(&c.dataDir, "data-dir", "./data", "embedded engine's storage directory")
}

func (c *common) load() (config.Config, error) {
	return config.Load(c.configPath)
}

// openLocal loads the configuration and opens the store it names (the
// local data dir, or a ClickHouse server). Call closeStore when done.
func (c *common) openLocal(ctx context.Context) (cfg config.Config, st *store.Store, closeStore func(), err error) {
	if cfg, err = c.load(); err != nil {
		return cfg, nil, nil, err
	}
	db, st, err := openStore(ctx, cfg, c.dataDir)
	if err != nil {
		return cfg, nil, nil, err
	}
	return cfg, st, func() { db.Close() }, nil
}

func newLogger(format string) (*zap.Logger, error) {
	switch format {
	case "json", "":
		return zap.NewProduction()
	case "console":
		// Human-readable lines, but not zap's development mode: that
		// prints a stack trace under every warning (a refused webhook is
		// an expected event, not a bug) and panics on DPanic.
		cfg := zap.NewDevelopmentConfig()
		cfg.Level = zap.NewAtomicLevelAt(zapcore.InfoLevel)
		cfg.Development, cfg.DisableStacktrace = false, true
		return cfg.Build()
	default:
		return nil, fmt.Errorf("--log-format: want json or console, got %q", format)
	}
}

func newServeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the server: receive events, store, judge, alert, answer",
		Long: `Run changeproof: receive GitHub webhooks and deploy and access events,
append them to the durable log, store them in ClickHouse (the embedded
engine in --data-dir, or clickhouse.addr), judge every change with the
controls, send Slack alerts, and serve the API and the auditor's UI.

--roles splits the work across processes (with kafka.brokers): receivers,
pipeline workers, and one rules,api process. The listening line on stdout
names the bound address. SIGINT or SIGTERM shut down cleanly.`,
		Example: `  changeproof serve --config changeproof.yaml --data-dir /var/lib/changeproof
  changeproof serve --config prod.yaml --roles receiver --addr :8080
  changeproof serve --config prod.yaml --roles rules,api --log-format console`,
		Args: cobra.NoArgs,
	}
	fs := cmd.Flags()
	var c common
	c.register(fs)
	addr := fs.String("addr", "", "listen address, overrides server.addr")
	logFormat := fs.String("log-format", "json", "log format: json or console")
	rolesFlag := fs.String("roles", "receiver,pipeline,rules,api", "roles this process runs (receiver, pipeline, rules, api)")
	cmd.RunE = run(func(*cobra.Command, []string) error { return runServe(c, *addr, *logFormat, *rolesFlag) })
	return cmd
}

func runServe(c common, addr, logFormat, rolesFlag string) error {
	log, err := newLogger(logFormat)
	if err != nil {
		return err
	}
	defer log.Sync() //nolint:errcheck
	cfg, err := c.load()
	if err != nil {
		return err
	}
	if addr != "" {
		cfg.Server.Addr = addr
	}
	r, err := parseRoles(rolesFlag)
	if err != nil {
		return err
	}
	warnReadableConfig(c.configPath, log)
	if err := secureDataDir(c.dataDir, log); err != nil {
		return err
	}
	// Signals are caught before the listening line is printed: a SIGTERM
	// that follows it at once must shut down cleanly (the spool loaded,
	// alerts flushed), not kill the process.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	a, err := newAppRoles(context.Background(), cfg, c.dataDir, log, r)
	if err != nil {
		return err
	}
	bound, err := a.start(cfg.Server.Addr)
	if err != nil {
		a.close()
		return err
	}
	fmt.Printf("%s%s (roles %s, data dir %s)\n", listeningPrefix, bound, r, c.dataDir)
	if cfg.GitHub.WebhookSecret == "" {
		log.Warn("github.webhook_secret is empty: POST /webhooks/github refuses every delivery until it is set")
	}
	if len(cfg.Server.Tokens) == 0 {
		log.Warn("server.tokens is empty: the evidence API (/v1/...) refuses every request until a token is configured")
	}
	if len(cfg.Scope.Repos) == 0 {
		log.Warn("scope.repos is empty: everything is stored, but no repository is in scope, so no findings are produced")
	}
	log.Info("serving", zap.String("addr", bound), zap.String("data_dir", c.dataDir),
		zap.Int("tokens", len(cfg.Server.Tokens)), zap.Bool("webhook_secret_set", cfg.GitHub.WebhookSecret != ""))
	s := <-sig
	log.Info("shutting down", zap.String("signal", s.String()))
	return closeWithin(a, a.shutdownBudget(), log)
}

// closeWithin closes the app, or gives up after budget: what was accepted
// is durable (spool or Kafka, alert outbox) and is taken up at the next
// start, so a stop that hangs on Slack or Kafka need not wait for them.
func closeWithin(a *app, budget time.Duration, log *zap.Logger) error {
	closed := make(chan struct{})
	go func() {
		a.close()
		close(closed)
	}()
	select {
	case <-closed:
		return nil
	case <-time.After(budget):
		log.Error("shutdown did not finish within server.shutdown_timeout; exiting (queued alerts and accepted events are taken up at the next start)",
			zap.Duration("shutdown_timeout", budget))
		return fmt.Errorf("shutdown did not finish within server.shutdown_timeout (%s)", budget)
	}
}

// listeningPrefix starts the line serve prints on stdout once it accepts
// connections; what follows it is the bound address.
const listeningPrefix = "changeproof listening on "

// awaitListening reads a serve process's stdout until its listening line
// and returns the address; the rest of the output is drained in the
// background. ok is false when the output ended first.
func awaitListening(out io.Reader) (addr string, ok bool) {
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if rest, found := strings.CutPrefix(sc.Text(), listeningPrefix); found {
			go func() { _, _ = io.Copy(io.Discard, out) }()
			return strings.Fields(rest)[0], true
		}
	}
	return "", false
}
