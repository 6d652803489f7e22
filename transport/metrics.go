package transport

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// The Kafka metrics are registered by the first producer or consumer, so a
// process that runs without Kafka (the embedded mode) does not export
// Kafka series that can only ever read zero.
var registerOnce sync.Once

func registerMetrics() {
	registerOnce.Do(func() {
		prometheus.MustRegister(producedTotal, consumedTotal, batchSeconds, batchMessages,
			lagGauge, retriesTotal, deadLettersTotal, commitErrors)
	})
}

var (
	producedTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "changeproof_kafka_produced_total",
		Help: "Messages produced and acknowledged by Kafka, by topic."}, []string{"topic"})
	consumedTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "changeproof_kafka_consumed_total",
		Help: "Messages consumed, stored and committed, by topic."}, []string{"topic"})
	batchSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "changeproof_kafka_batch_seconds",
		Help:    "Time from fetching a batch's last message to committing the batch, retries included.",
		Buckets: prometheus.ExponentialBuckets(0.005, 2, 14)})
	batchMessages = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "changeproof_kafka_batch_messages",
		Help:    "Messages per consumed batch.",
		Buckets: prometheus.ExponentialBuckets(1, 2, 14)})
	lagGauge = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "changeproof_kafka_lag",
		Help: "Messages behind the partition's high-water mark after the last committed batch."}, []string{"topic", "partition"})
	retriesTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "changeproof_kafka_batch_retries_total",
		Help: "Failed attempts to store a consumed batch, by failing step: a topic's handler, deadletter-table or the dead-letter topic (each is retried)."}, []string{"step"})
	deadLettersTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "changeproof_kafka_dead_letters_total",
		Help: "Consumed messages that could not be decoded, by topic."}, []string{"topic"})
	commitErrors = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "changeproof_kafka_commit_errors_total",
		Help: "Offset commits that failed after the batch was stored (the batch is redelivered; the store deduplicates)."})
)
