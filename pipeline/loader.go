package pipeline

import (
	"cmp"
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"go.uber.org/zap"

	"github.com/changeproof/changeproof/model"
)

var loadFailing = promauto.NewGauge(prometheus.GaugeOpts{
	Name: "changeproof_pipeline_load_failing",
	Help: "1 while the pipeline cannot store what the log holds (the store is unavailable); the log waits, nothing is skipped."})

// Loader is the log's consumer side: it hands each batch the log delivers
// to the Deriver, then has what changed judged. Its Load is the load
// function of spool.Spool.Run and the record handler of the Kafka
// consumer; both retry a batch whose Load failed and never skip it.
//
// Safe for concurrent use (one Load per log partition at a time).
type Loader struct {
	Deriver *Deriver
	// Intake, when this process also receives, learns which records are
	// stored (Intake.Loaded). Optional.
	Intake *Intake
	// Judge has what changed judged; nil when a rules process elsewhere
	// polls the store for it.
	Judge Judge
	// Watermark, if set, learns what is stored and handed to Judge.
	Watermark *Watermark
	// Pressure, if set, makes each load wait while the receivers are
	// busy, up to YieldMax (0 = 500ms): the log grows meanwhile, so the
	// next load is larger; the receivers' answers do not wait for it.
	Pressure *Pressure
	YieldMax time.Duration
	Log      *zap.Logger

	mu      sync.Mutex
	failing error     // the last Load's error; nil after a success
	since   time.Time // when Loads started failing
	logged  time.Time // when that was last logged
}

// Judge has evidence judged after it is stored.
type Judge interface {
	// Repos has the changes of repos judged again, soon; it does not block.
	Repos(repos []string)
	// Access has newly stored access events judged. It may block while
	// judging lags (back-pressure on the log, never on the receivers).
	Access(ctx context.Context, es []model.AccessEvent)
}

// OrgJudge is a Judge that can also have every repository of an
// organisation judged again: an organisation ruleset (no repository)
// changed. Orgs does not block.
type OrgJudge interface {
	Orgs(orgs []string)
}

// Load processes one batch of records in log order. nil: every record is
// stored (or dead-lettered, or kept as a conflict) and may be acknowledged
// in the log; an error: the store could not be reached, nothing may be
// acknowledged, and the same batch must come again.
func (l *Loader) Load(ctx context.Context, ds []model.Delivery) error {
	l.Pressure.Yield(ctx, "loader", cmp.Or(l.YieldMax, 500*time.Millisecond))
	res, err := l.Deriver.Process(ctx, ds)
	if err != nil {
		l.failed(err, len(ds))
		return err
	}
	l.recovered()
	if l.Intake != nil {
		l.Intake.Loaded(ds)
	}
	if l.Log != nil && res.Dead > 0 {
		l.Log.Warn("events dead-lettered (changeproof deadletters lists them with the reason)", zap.Int("count", res.Dead))
	}
	if l.Log != nil && res.Conflicts > 0 {
		l.Log.Warn("events refused: their id holds other bytes (changeproof conflicts lists them)", zap.Int("count", res.Conflicts))
	}
	if l.Judge != nil {
		if len(res.Repos) > 0 {
			l.Judge.Repos(res.Repos)
		}
		if oj, ok := l.Judge.(OrgJudge); ok && len(res.Orgs) > 0 {
			oj.Orgs(res.Orgs)
		}
		if len(res.Access) > 0 {
			l.Judge.Access(ctx, res.Access)
		}
	}
	l.Watermark.Loaded(ds)
	return nil
}

func (l *Loader) failed(err error, n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if l.failing == nil {
		l.since = now
	}
	l.failing = err
	loadFailing.Set(1)
	if l.Log != nil && now.Sub(l.logged) >= 30*time.Second {
		l.logged = now
		l.Log.Error("pipeline cannot store what the log holds; retrying the same batch (nothing is skipped)",
			zap.Int("records", n), zap.Duration("failing_for", now.Sub(l.since)), zap.Error(err))
	}
}

func (l *Loader) recovered() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.failing != nil && l.Log != nil {
		l.Log.Info("pipeline stores again", zap.Duration("after", time.Since(l.since)))
	}
	l.failing, l.logged = nil, time.Time{}
	loadFailing.Set(0)
}

// Ready returns nil unless the last Load failed, for /readyz: a process
// whose log cannot reach the store is not ready, whatever else answers.
func (l *Loader) Ready() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.failing != nil {
		return fmt.Errorf("pipeline cannot store events since %s: %w", l.since.UTC().Format(time.RFC3339), l.failing)
	}
	return nil
}
