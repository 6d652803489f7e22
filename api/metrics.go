package api

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"

	"github.com/changeproof/changeproof/store"
)

var (
	httpRequests = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "changeproof_http_requests_total",
		Help: "HTTP requests answered, by route (the router's pattern, \"unmatched\" for none) and status code."},
		[]string{"route", "code"})
	httpDuration = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "changeproof_http_request_duration_seconds",
		Help:    "Time to answer an HTTP request, by route.",
		Buckets: prometheus.ExponentialBuckets(0.001, 4, 10)},
		[]string{"route"})
	findingsErrors = promauto.NewCounter(prometheus.CounterOpts{
		Name: "changeproof_findings_refresh_errors_total",
		Help: "Scrapes whose findings count could not be read from the store (changeproof_findings keeps its last values)."})
	readyGauge = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "changeproof_ready",
		Help: "1 when the server can accept and store events (what /readyz answers), 0 when not; checked at each scrape."})
)

// instrumentRoutes counts every request by the pattern it was routed to, so
// the label set stays bounded whatever paths clients send.
func instrumentRoutes(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		// The ServeMux sets Pattern on the request it was given.
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		code := rec.code
		if code == 0 {
			code = http.StatusOK
		}
		httpRequests.WithLabelValues(route, strconv.Itoa(code)).Inc()
		httpDuration.WithLabelValues(route).Observe(time.Since(start).Seconds())
	})
}

// statusRecorder remembers the status code written; Unwrap and Flush keep
// what the wrapped writer can do (streamed exports) available.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.code == 0 {
		s.code = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Flush() { _ = http.NewResponseController(s.ResponseWriter).Flush() }

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// metricsHandler serves the process's metrics after refreshing the gauges
// that are read, not counted: readiness and the findings by rule and outcome.
func (s *Server) metricsHandler() http.Handler {
	h := promhttp.Handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.refreshGauges(r.Context())
		h.ServeHTTP(w, r)
	})
}

// findingsRefresh holds the last findings count, read from the store at
// most once per findingsEvery whichever server of the process is scraped.
var findingsRefresh struct {
	sync.Mutex
	at     time.Time
	store  *store.Store
	counts []store.FindingCount
}

var findingsDesc = prometheus.NewDesc("changeproof_findings",
	"Subjects whose current finding has this outcome, by rule and outcome (read from the store at most every 15s, on scrape).",
	[]string{"rule", "outcome"}, nil)

// findingsCollector exports the last count as a whole, so a scrape never
// sees a half-replaced set.
type findingsCollector struct{}

func (findingsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- findingsDesc }

func (findingsCollector) Collect(ch chan<- prometheus.Metric) {
	f := &findingsRefresh
	f.Lock()
	defer f.Unlock()
	for _, c := range f.counts {
		ch <- prometheus.MustNewConstMetric(findingsDesc, prometheus.GaugeValue, float64(c.Count), c.Rule, c.Outcome)
	}
}

func init() { prometheus.MustRegister(findingsCollector{}) }

const findingsEvery = 15 * time.Second

func (s *Server) refreshGauges(ctx context.Context) {
	ready := 1.0
	if s.Ready != nil {
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		if err := s.Ready(rctx); err != nil {
			ready = 0
		}
		cancel()
	}
	readyGauge.Set(ready)

	if s.Service == nil || s.Service.Store == nil {
		return
	}
	f := &findingsRefresh
	f.Lock()
	defer f.Unlock()
	if f.store == s.Service.Store && time.Since(f.at) < findingsEvery {
		return
	}
	qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	counts, err := s.Service.Store.FindingCounts(qctx)
	if err != nil {
		findingsErrors.Inc()
		if s.Log != nil {
			s.Log.Warn("metrics: count findings", zap.Error(err))
		}
		return
	}
	f.at, f.store, f.counts = time.Now(), s.Service.Store, counts
}
