package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"go.uber.org/zap"

	"github.com/changeproof/changeproof/ingest/access"
	"github.com/changeproof/changeproof/ingest/deploy"
	"github.com/changeproof/changeproof/model"
)

// OpsSink takes deploy and access events.
//
// Each method blocks until the events are durable (nil) or returns an error
// and none of them may be reported accepted; a retry is safe because events
// are keyed by their ids. Implementations must be safe for concurrent use.
type OpsSink interface {
	AcceptDeploys(ctx context.Context, ds []model.Deploy) error
	AcceptAccess(ctx context.Context, es []model.AccessEvent) error
}

// MaxAccessBody caps one access upload. Uploads are streamed in batches, so
// the cap bounds request time, not memory.
const MaxAccessBody = 1 << 30

// batch sizes for the two sources: access is the high-volume one.
const (
	deployBatch = 1000
	accessBatch = 5000
)

// Report is the answer to an upload (interfaces.md): every rejected line
// with its number and reason; accepted lines are stored.
type Report struct {
	Accepted int               `json:"accepted"`
	Skipped  int               `json:"skipped,omitempty"`
	Rejected []deploy.Rejected `json:"rejected"`
	Error    string            `json:"error,omitempty"`
}

// DeployHandler serves POST /v1/deploys. Safe for concurrent use.
type DeployHandler struct {
	Sink    OpsSink
	Options func() deploy.Options
	Log     *zap.Logger
}

func (h *DeployHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	Received.WithLabelValues("deploy").Inc()
	rep, code := IngestDeploys(r.Context(), http.MaxBytesReader(w, r.Body, 25<<20), h.Options(), h.Sink)
	if code != http.StatusAccepted && h.Log != nil {
		h.Log.Error("deploy upload failed", zap.String("error", rep.Error), zap.Int("accepted", rep.Accepted))
	}
	writeReport(w, code, rep)
}

// IngestDeploys parses and stores a deploy upload: the one path shared by
// the HTTP endpoint and `changeproof ingest deploy`.
func IngestDeploys(ctx context.Context, body io.Reader, o deploy.Options, sink OpsSink) (Report, int) {
	n, rejected, err := deploy.Read(body, o, deployBatch, func(ds []model.Deploy) error {
		return sink.AcceptDeploys(ctx, ds)
	})
	rep := Report{Accepted: n, Rejected: nonNilRejected(rejected)}
	Accepted.WithLabelValues("deploy").Add(float64(n))
	Rejected.WithLabelValues("deploy", "line").Add(float64(len(rejected)))
	return rep, finish(&rep, err)
}

// AccessHandler serves POST /v1/access. Safe for concurrent use.
type AccessHandler struct {
	Sink OpsSink
	// BreakGlassRoles returns a system's break-glass roles (access.systems).
	BreakGlassRoles func(system string) []string
	// Timezone returns a system's configured time zone name
	// (access.systems.<system>.timezone), for syslog timestamps; ?timezone=
	// overrides it. nil or "" = UTC.
	Timezone func(system string) string
	Log      *zap.Logger
}

func (h *AccessHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	Received.WithLabelValues("access").Inc()
	name := r.URL.Query().Get("format")
	if name == "" {
		name = r.Header.Get("Content-Type")
	}
	if name == "" {
		name = string(access.Generic)
	}
	f, err := access.ParseFormat(name)
	if err != nil {
		Rejected.WithLabelValues("access", "format").Inc()
		writeReport(w, http.StatusBadRequest, Report{Rejected: []deploy.Rejected{}, Error: err.Error()})
		return
	}
	system := r.URL.Query().Get("system")
	if f != access.Generic && system == "" {
		Rejected.WithLabelValues("access", "system").Inc()
		writeReport(w, http.StatusBadRequest, Report{Rejected: []deploy.Rejected{},
			Error: "system: required for format " + string(f) + " (?system=NAME, a key of access.systems)"})
		return
	}
	var roles []string
	if h.BreakGlassRoles != nil {
		roles = h.BreakGlassRoles(system)
	}
	var tz string
	if h.Timezone != nil {
		tz = h.Timezone(system)
	}
	loc, year, err := access.TimeOptions(r.URL.Query().Get("timezone"), r.URL.Query().Get("year"), tz)
	if err != nil {
		Rejected.WithLabelValues("access", "time").Inc()
		writeReport(w, http.StatusBadRequest, Report{Rejected: []deploy.Rejected{}, Error: err.Error()})
		return
	}
	rep, code := IngestAccess(r.Context(), http.MaxBytesReader(w, r.Body, MaxAccessBody),
		access.Options{Format: f, System: system, BreakGlassRoles: roles, Location: loc, Year: year}, h.Sink)
	if code != http.StatusAccepted && h.Log != nil {
		h.Log.Error("access upload failed", zap.String("error", rep.Error), zap.Int("accepted", rep.Accepted))
	}
	writeReport(w, code, rep)
}

// IngestAccess parses and stores an access upload in batches: the path
// shared by the HTTP endpoint and `changeproof ingest access`. Parsing the
// next batch overlaps storing the previous one; Accepted counts only the
// events the sink stored.
func IngestAccess(ctx context.Context, body io.Reader, o access.Options, sink OpsSink) (Report, int) {
	batches := make(chan []model.AccessEvent, 1)
	failed := make(chan struct{}) // closed at the first store error
	stored := 0
	var storeErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		for es := range batches {
			if storeErr != nil {
				continue // drain: nothing after a failure is stored
			}
			if err := sink.AcceptAccess(ctx, es); err != nil {
				storeErr = err
				close(failed)
				continue
			}
			stored += len(es)
		}
	}()
	res, err := access.Read(body, o, accessBatch, func(es []model.AccessEvent) error {
		select {
		case batches <- es:
			return nil
		case <-failed:
			return errStoreFailed
		}
	})
	close(batches)
	<-done
	if storeErr != nil {
		err = storeErr
	}
	rep := Report{Accepted: stored, Skipped: res.Skipped, Rejected: nonNilRejected(convert(res.Rejected))}
	Accepted.WithLabelValues("access").Add(float64(stored))
	Rejected.WithLabelValues("access", "line").Add(float64(len(res.Rejected)))
	return rep, finish(&rep, err)
}

var errStoreFailed = errors.New("storing an earlier batch failed")

// finish turns a read or store error into the status: 413 for a body over
// its cap, 503 when storing failed (what was accepted before stays stored;
// re-sending the whole upload is safe), 202 otherwise.
func finish(rep *Report, err error) int {
	if err == nil {
		return http.StatusAccepted
	}
	rep.Error = err.Error()
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusServiceUnavailable
}

func nonNilRejected(r []deploy.Rejected) []deploy.Rejected {
	if r == nil {
		return []deploy.Rejected{}
	}
	return r
}

func convert(rs []access.Rejected) []deploy.Rejected {
	out := make([]deploy.Rejected, len(rs))
	for i, r := range rs {
		out[i] = deploy.Rejected{Line: r.Line, Error: r.Error}
	}
	return out
}

func writeReport(w http.ResponseWriter, code int, rep Report) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(rep)
}
