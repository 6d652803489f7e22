package main

import (
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/changeproof/changeproof/config"
	"github.com/changeproof/changeproof/rules"
)

// newHTTPServer is the listener's http.Server with the configured limits:
// a client that sends its request slowly, or holds an idle keep-alive
// connection, or sends oversized headers, is cut off.
func newHTTPServer(c config.Server, h http.Handler, log *zap.Logger) *http.Server {
	headerTimeout := 10 * time.Second
	if rt := c.ReadTimeout.Std(); rt > 0 && rt < headerTimeout {
		headerTimeout = rt
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: headerTimeout,
		ReadTimeout:       c.ReadTimeout.Std(),
		IdleTimeout:       c.IdleTimeout.Std(),
		MaxHeaderBytes:    c.MaxHeaderBytes,
	}
	if log != nil {
		// net/http logs recovered handler panics and TLS handshake
		// failures here; they go to the process log, not stderr.
		srv.ErrorLog, _ = zap.NewStdLogAt(log.Named("http"), zap.WarnLevel)
	}
	return srv
}

// shutdownBudget is server.shutdown_timeout, or its default for an app
// built from a zero configuration (tests).
func (a *app) shutdownBudget() time.Duration {
	if d := a.cfg.Server.ShutdownTimeout.Std(); d > 0 {
		return d
	}
	return config.Default().Server.ShutdownTimeout.Std()
}

// ruleIDs are the control ids a findings filter may name.
func ruleIDs() []string {
	var ids []string
	for _, d := range rules.Catalogue() {
		ids = append(ids, d.ID)
	}
	return ids
}
