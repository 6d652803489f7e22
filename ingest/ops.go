package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"sort"
	"time"

	"go.uber.org/zap"

	"github.com/changeproof/changeproof/ingest/access"
	"github.com/changeproof/changeproof/ingest/deploy"
	"github.com/changeproof/changeproof/model"
)

// MaxAccessBody caps one access upload. Uploads are streamed in batches, so
// the cap bounds request time, not memory.
const MaxAccessBody = 1 << 30

// uploadProgress is how much of an access upload must arrive within the
// server's read timeout for the timeout to start again (see
// keepReading): about 8.5 KiB/s at the default 30s.
const uploadProgress = 256 << 10

// batch sizes for the two sources: access is the high-volume one.
const (
	deployBatch = 1000
	accessBatch = 5000
)

// Report is the answer to an upload (docs/http.md, "Ingest endpoints"): every rejected line
// with its number and reason; accepted lines are stored.
type Report struct {
	Accepted int               `json:"accepted"`
	Skipped  int               `json:"skipped,omitempty"`
	Rejected []deploy.Rejected `json:"rejected"`
	Error    string            `json:"error,omitempty"`
}

// DeployHandler serves POST /v1/deploys. Safe for concurrent use.
type DeployHandler struct {
	Sink    Log
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

// IngestDeploys parses a deploy upload and appends every good line to the
// evidence log: the one path shared by the HTTP endpoint and `changeproof
// ingest deploy`.
func IngestDeploys(ctx context.Context, body io.Reader, o deploy.Options, log Log) (Report, int) {
	var conflicts []deploy.Rejected
	stored := 0
	_, rejected, err := deploy.Read(body, o, deployBatch, func(ds []model.Deploy) error {
		recs := make([]model.Delivery, len(ds))
		for i, d := range ds {
			rec, err := model.DeployRecord(d, d.ReceivedAt)
			if err != nil {
				return err
			}
			recs[i] = rec
		}
		refused, err := log.Append(ctx, recs)
		if err != nil {
			return err
		}
		for i, e := range refused {
			if e != nil {
				conflicts = append(conflicts, deploy.Rejected{Line: ds[i].Line, Error: e.Error()})
			}
		}
		stored += len(ds) - countErrs(refused)
		return nil
	})
	rejected = mergeRejected(rejected, conflicts)
	rep := Report{Accepted: stored, Rejected: nonNilRejected(rejected)}
	Accepted.WithLabelValues("deploy").Add(float64(stored))
	Rejected.WithLabelValues("deploy", "line").Add(float64(len(rejected)))
	return rep, finish(&rep, err)
}

// AccessHandler serves POST /v1/access. Safe for concurrent use.
type AccessHandler struct {
	Sink Log
	// BreakGlassRoles returns a system's break-glass roles (access.systems).
	BreakGlassRoles func(system string) []string
	// Timezone returns a system's configured time zone name
	// (access.systems.<system>.timezone), for syslog timestamps; ?timezone=
	// overrides it. nil or "" = UTC.
	Timezone func(system string) string
	// ReadTimeout is the listener's server.read_timeout. An upload that
	// keeps arriving (uploadProgress bytes within each ReadTimeout) is
	// read to its end however long it takes; one that stalls or trickles
	// is still cut off. Zero leaves the listener's deadline alone, so an
	// upload must arrive whole within it.
	ReadTimeout time.Duration
	Log         *zap.Logger
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
	body := io.Reader(http.MaxBytesReader(w, r.Body, MaxAccessBody))
	if h.ReadTimeout > 0 {
		body = &keepReading{r: body, rc: http.NewResponseController(w), timeout: h.ReadTimeout}
	}
	rep, code := IngestAccess(r.Context(), body,
		access.Options{Format: f, System: system, BreakGlassRoles: roles, Location: loc, Year: year}, h.Sink)
	if code != http.StatusAccepted && h.Log != nil {
		h.Log.Error("access upload failed", zap.String("error", rep.Error), zap.Int("accepted", rep.Accepted))
	}
	writeReport(w, code, rep)
}

// IngestAccess parses an access upload and appends its events to the
// evidence log in batches: the path shared by the HTTP endpoint and
// `changeproof ingest access`. Parsing the next batch overlaps appending
// the previous one; Accepted counts only the events appended as evidence.
func IngestAccess(ctx context.Context, body io.Reader, o access.Options, log Log) (Report, int) {
	batches := make(chan []model.AccessEvent, 1)
	failed := make(chan struct{}) // closed at the first append error
	stored := 0
	var conflicts []deploy.Rejected
	var storeErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		for es := range batches {
			if storeErr != nil {
				continue // drain: nothing after a failure is appended
			}
			recs := make([]model.Delivery, len(es))
			for i, e := range es {
				if recs[i], storeErr = model.AccessRecord(e, e.ReceivedAt); storeErr != nil {
					break
				}
			}
			var refused []error
			if storeErr == nil {
				refused, storeErr = log.Append(ctx, recs)
			}
			if storeErr != nil {
				close(failed)
				continue
			}
			for i, e := range refused {
				if e != nil {
					conflicts = append(conflicts, deploy.Rejected{Line: es[i].Line, Error: e.Error()})
				}
			}
			stored += len(es) - countErrs(refused)
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
	rejected := mergeRejected(convert(res.Rejected), conflicts)
	rep := Report{Accepted: stored, Skipped: res.Skipped, Rejected: nonNilRejected(rejected)}
	Accepted.WithLabelValues("access").Add(float64(stored))
	Rejected.WithLabelValues("access", "line").Add(float64(len(rejected)))
	return rep, finish(&rep, err)
}

func countErrs(errs []error) int {
	n := 0
	for _, e := range errs {
		if e != nil {
			n++
		}
	}
	return n
}

// mergeRejected merges two line-ordered lists of rejected lines.
func mergeRejected(a, b []deploy.Rejected) []deploy.Rejected {
	if len(b) == 0 {
		return a
	}
	out := append(append(make([]deploy.Rejected, 0, len(a)+len(b)), a...), b...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Line < out[j].Line })
	return out
}

var errStoreFailed = errors.New("storing an earlier batch failed")

// finish turns a read or store error into the status: 413 for a body over
// its cap, 503 when storing failed (what was accepted before stays stored;
// re-sending the whole upload is safe), 422 when every line was rejected
// (a conflict included), 202 otherwise.
func finish(rep *Report, err error) int {
	if err == nil {
		if rep.Accepted == 0 && len(rep.Rejected) > 0 {
			// Nothing of the upload was taken: a 2xx would read as
			// delivered to a sender that checks only the status.
			return http.StatusUnprocessableEntity
		}
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

// keepReading moves the request's read deadline forward each time another
// uploadProgress bytes of the body have arrived. The listener's read
// timeout bounds a whole request, body included, so that a slow client
// cannot hold a connection; an access log of a few hundred MiB takes
// longer than that to send even at full speed, and cutting it off would
// leave the uploader a 503 and a re-send of everything.
type keepReading struct {
	r       io.Reader
	rc      *http.ResponseController
	timeout time.Duration
	since   int
}

func (k *keepReading) Read(p []byte) (int, error) {
	n, err := k.r.Read(p)
	if k.since += n; k.since >= uploadProgress {
		k.since = 0
		// ErrNotSupported (a ResponseWriter without a connection, as in
		// handler tests) leaves the listener's deadline in force.
		_ = k.rc.SetReadDeadline(time.Now().Add(k.timeout))
	}
	return n, err
}
