package pipeline

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/changeproof/changeproof/enrich"
	"github.com/changeproof/changeproof/internal/clock"
	"github.com/changeproof/changeproof/model"
)

var (
	stored = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "changeproof_events_stored_total", Help: "Events stored for the first time, by source."}, []string{"source"})
	duplicates = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "changeproof_events_duplicate_total", Help: "Events already stored (redeliveries, replays), by source."}, []string{"source"})
	dead = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "changeproof_dead_letters_total", Help: "Stored events that could not be derived (poison events), by source."}, []string{"source"})
	conflicts = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "changeproof_conflicts_total", Help: "Events refused because their id holds other bytes (kept as evidence of the attempt), by source."}, []string{"source"})
)

// retryRefused is the wait before a record the store refused is tried
// again on its own.
var retryRefused = 200 * time.Millisecond

// Writer is the part of the store the pipeline needs.
type Writer interface {
	// KnownSHA returns, for those of ids already in the raw log under
	// source, the SHA-256 of the bytes stored. It blocks on the store; an
	// error means the store could not answer.
	KnownSHA(ctx context.Context, source string, ids []string) (map[string]string, error)
	// Write stores a batch durably: derived rows first, raw rows last. A
	// batch written twice has the effect of one. An error may mean the
	// store is unavailable or that a row's content was refused.
	Write(ctx context.Context, b model.Batch) error
}

// Pinger tells an unavailable store from a refused row: a Writer that
// also implements it lets Process dead-letter the one event a write
// refuses instead of retrying it for ever.
type Pinger interface {
	// Ping returns nil when the store answers a trivial query.
	Ping(ctx context.Context) error
}

// Result says what a Process call did.
type Result struct {
	Stored     int                 // events new to the store (dead letters included)
	Duplicates int                 // events already stored with the same bytes (no second effect)
	Conflicts  int                 // events refused: their id holds other bytes
	Dead       int                 // stored raw, but could not be derived (poison)
	Repos      []string            // repositories whose evidence changed
	Orgs       []string            // organisations whose organisation-level evidence changed
	Access     []model.AccessEvent // access events new to the store, to be judged
}

func (r *Result) add(o Result) {
	r.Stored += o.Stored
	r.Duplicates += o.Duplicates
	r.Conflicts += o.Conflicts
	r.Dead += o.Dead
	r.Access = append(r.Access, o.Access...)
	seen := map[string]bool{}
	for _, repo := range r.Repos {
		seen[repo] = true
	}
	for _, repo := range o.Repos {
		if !seen[repo] {
			seen[repo] = true
			r.Repos = append(r.Repos, repo)
		}
	}
	for _, org := range o.Orgs {
		if !slices.Contains(r.Orgs, org) {
			r.Orgs = append(r.Orgs, org)
		}
	}
}

// Deriver turns log records of every source into canonical records and
// stores them with the records themselves. Safe for concurrent use; the
// loaders call it from one goroutine each.
type Deriver struct {
	Store Writer
	// ServiceOf names the service a repository's deploys belong to
	// (scope.services); nil or "" = the repository's name.
	ServiceOf func(repo string) string
}

// Process stores the records not yet stored, with what they derive. Per
// (source, id): the first bytes are the evidence; the same bytes again are
// a duplicate (no effect); other bytes are a conflict, kept in the
// conflicts table and never derived. A record that cannot be derived (a
// shape or value the parsers refuse, or a row the store refuses while it
// answers otherwise) is stored raw and dead-lettered with the reason, and
// the rest of the batch goes on.
//
// When Process returns nil every record is durable; on error (the store
// could not be read or written) none may be acknowledged, and a retry is
// safe.
func (p *Deriver) Process(ctx context.Context, ds []model.Delivery) (Result, error) {
	res, err := p.process(ctx, ds)
	if err == nil || len(ds) == 0 {
		return res, err
	}
	pinger, ok := p.Store.(Pinger)
	if !ok || ctx.Err() != nil {
		return Result{}, err
	}
	if perr := pinger.Ping(ctx); perr != nil {
		return Result{}, fmt.Errorf("%w (store unavailable: %v)", err, perr)
	}
	// The store answers, so something in the batch made it refuse the
	// write: halve the batch until the one record is found. What was
	// written before the failure is written again with the same effect.
	if len(ds) == 1 {
		// One record the store refuses while it answers: try it twice
		// more, a moment apart, so that a passing engine hiccup is not
		// taken for the record's fault, then keep it as a dead letter.
		for range 2 {
			if err := clock.Sleep(ctx, retryRefused); err != nil {
				return Result{}, err
			}
			if res, err = p.process(ctx, ds); err == nil {
				return res, nil
			}
		}
		return p.deadLetter(ctx, ds[0], fmt.Sprintf("store refused the derived rows: %v", err))
	}
	half := len(ds) / 2
	var all Result
	for _, part := range [][]model.Delivery{ds[:half], ds[half:]} {
		r, err := p.Process(ctx, part)
		if err != nil {
			return Result{}, err
		}
		all.add(r)
	}
	return all, nil
}

// deadLetter stores one record raw with the reason it could not be
// derived, and nothing derived from it.
func (p *Deriver) deadLetter(ctx context.Context, d model.Delivery, reason string) (Result, error) {
	b := model.Batch{Deliveries: []model.Delivery{d}, DeadLetters: []model.DeadLetter{deadOf(d, reason)}}
	if err := p.Store.Write(ctx, b); err != nil {
		// Even the raw record is refused (a value of its header, say):
		// keep the dead letter, whose body is the evidence.
		b.Deliveries = nil
		b.DeadLetters[0].Reason += fmt.Sprintf("; the raw log refused it too: %v", err)
		if err := p.Store.Write(ctx, b); err != nil {
			return Result{}, fmt.Errorf("dead-letter %s %s: %w", d.Source, d.DeliveryID, err)
		}
	}
	stored.WithLabelValues(d.Source).Inc()
	dead.WithLabelValues(d.Source).Inc()
	return Result{Stored: 1, Dead: 1}, nil
}

func deadOf(d model.Delivery, reason string) model.DeadLetter {
	return model.DeadLetter{Source: d.Source, Event: d.Event, DeliveryID: d.DeliveryID, ReceivedAt: d.ReceivedAt,
		Reason: reason, Body: d.Body}
}

func (p *Deriver) process(ctx context.Context, ds []model.Delivery) (Result, error) {
	var res Result
	bySource := map[string][]string{}
	for _, d := range ds {
		bySource[d.Source] = append(bySource[d.Source], d.DeliveryID)
	}
	known := map[string]string{} // source \x00 id -> sha256 of the evidence
	for src, ids := range bySource {
		k, err := p.Store.KnownSHA(ctx, src, ids)
		if err != nil {
			return res, err
		}
		for id, sha := range k {
			known[src+"\x00"+id] = sha
		}
	}
	var b model.Batch
	for _, d := range ds {
		key := d.Source + "\x00" + d.DeliveryID
		if sha, ok := known[key]; ok {
			if sha == d.SHA256 {
				res.Duplicates++
				duplicates.WithLabelValues(d.Source).Inc()
			} else {
				res.Conflicts++
				b.Conflicts = append(b.Conflicts, model.Conflict{Source: d.Source, ID: d.DeliveryID, Event: d.Event,
					ReceivedAt: d.ReceivedAt, KeptSHA256: sha, SHA256: d.SHA256, Body: d.Body})
			}
			continue
		}
		known[key] = d.SHA256 // a repeat within the batch is judged against this one
		if err := p.derive(d, &b); err != nil {
			if !errors.Is(err, enrich.ErrMalformed) {
				return res, err
			}
			b.DeadLetters = append(b.DeadLetters, deadOf(d, err.Error()))
			res.Dead++
		}
		b.Deliveries = append(b.Deliveries, d)
		res.Stored++
	}
	if len(b.Deliveries) == 0 && len(b.Conflicts) == 0 {
		return res, nil
	}
	for i := range b.Deploys {
		dep := &b.Deploys[i]
		if dep.Service != "" {
			continue // named by CI/CD
		}
		if p.ServiceOf != nil {
			dep.Service = p.ServiceOf(dep.Repo)
		}
		if dep.Service == "" {
			dep.Service = dep.Repo[strings.LastIndexByte(dep.Repo, '/')+1:]
		}
	}
	if err := p.Store.Write(ctx, b); err != nil {
		return Result{}, fmt.Errorf("store %d events: %w", len(b.Deliveries), err)
	}
	for _, d := range b.Deliveries {
		stored.WithLabelValues(d.Source).Inc()
	}
	for _, d := range b.DeadLetters {
		dead.WithLabelValues(d.Source).Inc()
	}
	for _, c := range b.Conflicts {
		conflicts.WithLabelValues(c.Source).Inc()
	}
	res.Repos = b.Repos()
	res.Orgs = b.Orgs()
	res.Access = b.Access
	return res, nil
}

// derive adds what d derives to b. enrich.ErrMalformed: d cannot be
// derived (poison); any other error: give up the batch.
func (p *Deriver) derive(d model.Delivery, b *model.Batch) error {
	switch d.Source {
	case model.SourceGitHub:
		// Derived into a batch of its own first, so a value the store
		// cannot hold (a time before 1970, say) makes this delivery a dead
		// letter instead of failing everyone's write.
		var one model.Batch
		if err := enrich.ParseGitHub(d, &one); err != nil {
			return err
		}
		if err := one.CheckTimes(); err != nil {
			return fmt.Errorf("%w: %s %s: %v", enrich.ErrMalformed, d.Event, d.DeliveryID, err)
		}
		b.Append(one)
	case model.SourceDeploy:
		dep, err := d.Deploy()
		if err != nil {
			return fmt.Errorf("%w: %v", enrich.ErrMalformed, err)
		}
		b.Deploys = append(b.Deploys, dep)
	case model.SourceAccess:
		e, err := d.Access()
		if err != nil {
			return fmt.Errorf("%w: %v", enrich.ErrMalformed, err)
		}
		b.Access = append(b.Access, e)
	case model.SourceGitHubREST:
		// Evidence only: backfill derives its records from the responses
		// as it reads them (ingest/backfill) and sends them as a batch.
	default:
		return fmt.Errorf("%w: unknown source %q", enrich.ErrMalformed, d.Source)
	}
	return nil
}
