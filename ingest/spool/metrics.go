package spool

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// open holds the spools this process has open, for the backlog gauge.
var open struct {
	sync.Mutex
	m map[*Spool]struct{}
}

// The spool's backlog (accepted, on disk, not yet stored) as a gauge read at
// scrape time: growing means the pipeline falls behind the receiver.
var backlogGauge = promauto.NewGaugeFunc(prometheus.GaugeOpts{
	Name: "changeproof_spool_backlog_bytes",
	Help: "Bytes of accepted deliveries in the embedded receiver's spool not yet loaded into the store.",
}, func() float64 {
	open.Lock()
	defer open.Unlock()
	var n int64
	for s := range open.m {
		n += s.Backlog()
	}
	return float64(n)
})

// track adds s to the spools the backlog gauge reads until untrack.
func track(s *Spool) *Spool {
	open.Lock()
	defer open.Unlock()
	if open.m == nil {
		open.m = map[*Spool]struct{}{}
	}
	open.m[s] = struct{}{}
	return s
}

func untrack(s *Spool) {
	open.Lock()
	defer open.Unlock()
	delete(open.m, s)
}
