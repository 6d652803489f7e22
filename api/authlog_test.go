package api_test

import (
	"net/http"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/changeproof/changeproof/api"
)

// Failed authentication is logged with the reason and the peer, never the
// token; an accepted request is logged with the token's name.
func TestAuthenticationIsLoggedByTokenName(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	e := newEnv(t, func(s *api.Server) { s.Log = zap.New(core) })
	seedForAuth(t, e)
	const wrong = "tok-auditor-2-guessed"
	if code, _, _ := e.get(t, "/v1/findings", wrong); code != http.StatusUnauthorized {
		t.Fatalf("unknown token: %d", code)
	}
	if code, _, _ := e.getHeader(t, "/v1/findings", "Authorization", ""); code != http.StatusUnauthorized {
		t.Fatalf("no token: %d", code)
	}
	if code, _, _ := e.get(t, "/v1/findings", tokAuditor); code != http.StatusOK {
		t.Fatalf("auditor: %d", code)
	}
	if code, _, _ := e.get(t, "/v1/findings", tokIngest); code != http.StatusForbidden {
		t.Fatalf("ingest token reading: %d", code)
	}
	var got []string
	for _, l := range logs.All() {
		f := l.ContextMap()
		got = append(got, strings.Join([]string{l.Level.String(), l.Message, str(f["reason"]), str(f["token_name"]), str(f["path"])}, "|"))
		for _, v := range f {
			if s, ok := v.(string); ok && (strings.Contains(s, wrong) || strings.Contains(s, tokAuditor) || strings.Contains(s, tokIngest)) {
				t.Errorf("a token was logged: %s %v", l.Message, f)
			}
		}
		if _, ok := f["remote"]; !ok {
			t.Errorf("%q logged without the peer", l.Message)
		}
	}
	want := []string{
		"warn|authentication failed|unknown token||/v1/findings",
		"warn|authentication failed|missing bearer token||/v1/findings",
		"info|request||auditor-bot|/v1/findings",
		"warn|request refused||ci|/v1/findings",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("logged:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func str(v any) string {
	s, _ := v.(string)
	return s
}
