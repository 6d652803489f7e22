package api

import (
	"context"
	"net/http"

	"go.uber.org/zap"
)

type tokenNameKey struct{}

// WithTokenName returns ctx carrying the name of the token that
// authenticated the request (server.tokens[].name).
func WithTokenName(ctx context.Context, name string) context.Context {
	return context.WithValue(ctx, tokenNameKey{}, name)
}

// TokenName is the name WithTokenName put in ctx, or "".
func TokenName(ctx context.Context) string {
	name, _ := ctx.Value(tokenNameKey{}).(string)
	return name
}

// authLog logs one authentication decision with the request's method, path
// and peer; never the token. Refusals are warnings, so a probe shows up.
func (s *Server) authLog(r *http.Request, msg string, fields ...zap.Field) {
	if s.Log == nil {
		return
	}
	fields = append(fields, zap.String("method", r.Method), zap.String("path", r.URL.Path), zap.String("remote", r.RemoteAddr))
	if msg == "request" {
		s.Log.Info(msg, fields...)
		return
	}
	s.Log.Warn(msg, fields...)
}
