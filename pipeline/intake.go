package pipeline

import (
	"context"
	"sync"

	"github.com/changeproof/changeproof/ingest"
	"github.com/changeproof/changeproof/model"
)

// Enqueuer queues records for a durable, ordered write and returns how to
// wait for it (ingest.Committer: group commit over the spool or Kafka).
// Records are written in the order Enqueue returned.
type Enqueuer interface {
	Enqueue(ctx context.Context, ds []model.Delivery) (wait func(ctx context.Context) error, err error)
}

// Intake is the receivers' side of the evidence log: it appends every
// record to the durable log and tells the sender which ones conflict with
// evidence already accepted (same source and id, other bytes). It
// implements ingest.Log.
//
// A conflicting record is appended too: the pipeline keeps it in the
// conflicts table, so the attempt is evidence. Intake only decides the
// answer; Deriver.Process, which sees records in log order, decides what
// is stored, and the two agree because Intake orders its records in the
// log under the same lock that checks them against the records still on
// their way (pending) and then against the store.
//
// Safe for concurrent use.
type Intake struct {
	Log Enqueuer
	// Known looks ids up in the store (Store.KnownSHA); nil when this
	// process has no store (a receiver that only produces to Kafka): only
	// the records on their way are checked then, and the pipeline still
	// records every conflict.
	Known func(ctx context.Context, source string, ids []string) (map[string]string, error)
	// Track keeps the records on their way until Loaded removes them. Only
	// for a log this process loads itself (the spool): on Kafka another
	// worker may load them, and nothing would remove them here.
	Track bool
	// Watermark, if set, learns the arrival of each record in log order,
	// for the processing clock (the Loader reports them stored).
	Watermark *Watermark
	// Pressure, if set, hears of every append, so background work can
	// yield to the receivers.
	Pressure *Pressure

	mu      sync.Mutex
	pending map[string]string // source \x00 id -> sha256 of the first record on its way
}

var _ ingest.Log = (*Intake)(nil)

// Append implements ingest.Log.
func (in *Intake) Append(ctx context.Context, ds []model.Delivery) ([]error, error) {
	if len(ds) == 0 {
		return nil, nil
	}
	defer in.Pressure.begin()()
	keys := make([]string, len(ds))
	kept := map[string]string{}    // key -> sha256 of the evidence the id holds, as far as known
	first := make([]bool, len(ds)) // ds[i] is the first of its id on its way (tracked)
	in.mu.Lock()
	if in.pending == nil {
		in.pending = map[string]string{}
	}
	for i, d := range ds {
		key := d.Source + "\x00" + d.DeliveryID
		keys[i] = key
		if _, ok := kept[key]; ok {
			continue
		}
		if sha, ok := in.pending[key]; ok && in.Track {
			kept[key] = sha
			continue
		}
		kept[key], first[i] = d.SHA256, true
		if in.Track {
			in.pending[key] = d.SHA256
		}
	}
	arrival := in.Watermark.accept(ds)
	wait, err := in.Log.Enqueue(ctx, ds)
	if err != nil && in.Track {
		in.forget(ds, first)
	}
	in.mu.Unlock()
	if err != nil {
		in.Watermark.abandon(arrival, ds)
		return nil, err
	}
	// The store lookup overlaps the durable write: an id first seen here
	// may have been stored before, and then the store's bytes are the
	// evidence.
	var lookupErr error
	if in.Known != nil {
		bySource := map[string][]string{}
		for i, d := range ds {
			if first[i] {
				bySource[d.Source] = append(bySource[d.Source], d.DeliveryID)
			}
		}
		var stale []string
		for src, ids := range bySource {
			k, err := in.Known(ctx, src, ids)
			if err != nil {
				lookupErr = err
				break
			}
			for id, sha := range k {
				key := src + "\x00" + id
				if kept[key] != sha {
					kept[key] = sha
					stale = append(stale, key)
				}
			}
		}
		if in.Track && len(stale) > 0 {
			// Judge later records of these ids against the store's bytes
			// while the refused ones are on their way.
			in.mu.Lock()
			for _, key := range stale {
				in.pending[key] = kept[key]
			}
			in.mu.Unlock()
		}
	}
	if err := wait(ctx); err != nil {
		if ctx.Err() != nil && arrival != nil {
			// The sender stopped waiting, not the write: the records may
			// still be stored; the watermark learns which when it ends.
			go func() {
				if wait(context.Background()) != nil {
					in.Watermark.abandon(arrival, ds)
				}
			}()
		} else {
			in.Watermark.abandon(arrival, ds)
		}
		if in.Track {
			in.mu.Lock()
			in.forget(ds, first)
			in.mu.Unlock()
		}
		return nil, err
	}
	if lookupErr != nil {
		// Durable, but we cannot tell the sender whether it conflicts: a
		// 503 makes it retry, and the retry is a duplicate or a conflict.
		return nil, lookupErr
	}
	var refused []error
	for i, d := range ds {
		if sha := kept[keys[i]]; sha != d.SHA256 {
			if refused == nil {
				refused = make([]error, len(ds))
			}
			refused[i] = &model.ConflictError{ID: d.DeliveryID, KeptSHA256: sha}
		}
	}
	return refused, nil
}

// forget drops the records of ds that were first on their way. The
// caller holds in.mu.
func (in *Intake) forget(ds []model.Delivery, first []bool) {
	for i, d := range ds {
		if first[i] {
			delete(in.pending, d.Source+"\x00"+d.DeliveryID)
		}
	}
}

// Loaded tells Intake that ds were processed (Deriver.Process returned
// nil for them), so the store answers for their ids from now on.
func (in *Intake) Loaded(ds []model.Delivery) {
	if !in.Track {
		return
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	// Whichever record of an id was loaded, the store now holds the id's
	// evidence and answers for it.
	for _, d := range ds {
		delete(in.pending, d.Source+"\x00"+d.DeliveryID)
	}
}

// Pending returns how many records are on their way (tracked only).
func (in *Intake) Pending() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return len(in.pending)
}
