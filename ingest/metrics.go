package ingest

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Counters every receiver keeps, by source ("github", "deploy", "access").
var (
	Received = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "changeproof_events_received_total", Help: "Events received, by source."}, []string{"source"})
	Accepted = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "changeproof_events_accepted_total", Help: "Events durably accepted, by source."}, []string{"source"})
	Rejected = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "changeproof_events_rejected_total", Help: "Events or lines rejected, by source and reason."}, []string{"source", "reason"})
)
