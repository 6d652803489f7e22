package enrich

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/changeproof/changeproof/model"
)

var (
	stored = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "changeproof_events_stored_total", Help: "Events stored for the first time, by source."}, []string{"source"})
	duplicates = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "changeproof_events_duplicate_total", Help: "Events already stored (redeliveries, replays), by source."}, []string{"source"})
	dead = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "changeproof_dead_letters_total", Help: "Stored events that could not be enriched, by source."}, []string{"source"})
)

// Writer is the part of the store the pipeline needs.
type Writer interface {
	// KnownDeliveries reports which delivery ids of source are already
	// stored. It blocks on the store.
	KnownDeliveries(ctx context.Context, source string, ids []string) (map[string]bool, error)
	// Write stores a batch durably; it returns only once it is on disk. A
	// batch written twice has the effect of one.
	Write(ctx context.Context, b model.Batch) error
}

// Result says what a Process call did.
type Result struct {
	Stored     int      // deliveries new to the store
	Duplicates int      // deliveries already stored (no second effect)
	Dead       int      // stored, but could not be enriched
	Repos      []string // repositories whose evidence changed
}

// Pipeline enriches deliveries and stores them. Safe for concurrent use,
// but the receiver's group committer calls it from one goroutine.
type Pipeline struct {
	Store Writer
	// ServiceOf names the service a repository's deploys belong to
	// (scope.services); nil or "" = the repository's name.
	ServiceOf func(repo string) string
}

// Process stores the deliveries not yet stored, with their canonical
// records. When it returns nil every delivery is durable; on error none of
// them may be acknowledged (a retry is safe).
func (p *Pipeline) Process(ctx context.Context, ds []model.Delivery) (Result, error) {
	var res Result
	bySource := map[string][]string{}
	for _, d := range ds {
		bySource[d.Source] = append(bySource[d.Source], d.DeliveryID)
	}
	known := map[string]bool{}
	for src, ids := range bySource {
		k, err := p.Store.KnownDeliveries(ctx, src, ids)
		if err != nil {
			return res, err
		}
		for id, ok := range k {
			if ok {
				known[src+"\x00"+id] = true
			}
		}
	}
	var b model.Batch
	for _, d := range ds {
		key := d.Source + "\x00" + d.DeliveryID
		if known[key] {
			res.Duplicates++
			duplicates.WithLabelValues(d.Source).Inc()
			continue
		}
		known[key] = true // a repeat within the batch is a duplicate too
		var err error
		switch d.Source {
		case "github":
			err = ParseGitHub(d, &b)
		default:
			err = fmt.Errorf("%w: unknown source %q", ErrMalformed, d.Source)
		}
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				return res, err
			}
			b.DeadLetters = append(b.DeadLetters, model.DeadLetter{Source: d.Source, Event: d.Event,
				DeliveryID: d.DeliveryID, ReceivedAt: d.ReceivedAt, Reason: err.Error(), Body: d.Body})
			res.Dead++
		}
		b.Deliveries = append(b.Deliveries, d)
		res.Stored++
	}
	if len(b.Deliveries) == 0 {
		return res, nil
	}
	for i := range b.Deploys {
		dep := &b.Deploys[i]
		if p.ServiceOf != nil {
			dep.Service = p.ServiceOf(dep.Repo)
		}
		if dep.Service == "" {
			dep.Service = dep.Repo[strings.LastIndexByte(dep.Repo, '/')+1:]
		}
	}
	if err := p.Store.Write(ctx, b); err != nil {
		return Result{}, fmt.Errorf("store %d deliveries: %w", len(b.Deliveries), err)
	}
	for _, d := range b.Deliveries {
		stored.WithLabelValues(d.Source).Inc()
	}
	for _, d := range b.DeadLetters {
		dead.WithLabelValues(d.Source).Inc()
	}
	res.Repos = b.Repos()
	return res, nil
}
