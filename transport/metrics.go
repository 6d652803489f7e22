package transport

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var (
	producedTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "changeproof_kafka_produced_total",
		Help: "Messages produced and acknowledged by Kafka, by topic."}, []string{"topic"})
	consumedTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "changeproof_kafka_consumed_total",
		Help: "Messages consumed, stored and committed, by topic."}, []string{"topic"})
	batchSeconds = promauto.NewHistogram(prometheus.HistogramOpts{
		Name:    "changeproof_kafka_batch_seconds",
		Help:    "Time from fetching a batch's last message to committing the batch, retries included.",
		Buckets: prometheus.ExponentialBuckets(0.005, 2, 14)})
	batchMessages = promauto.NewHistogram(prometheus.HistogramOpts{
		Name:    "changeproof_kafka_batch_messages",
		Help:    "Messages per consumed batch.",
		Buckets: prometheus.ExponentialBuckets(1, 2, 14)})
	lagGauge = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Name: "changeproof_kafka_lag",
		Help: "Messages behind the partition's high-water mark after the last committed batch."}, []string{"topic", "partition"})
	retriesTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "changeproof_kafka_batch_retries_total",
		Help: "Failed attempts to store a consumed batch, by failing step: a topic's handler, deadletter-table or the dead-letter topic (each is retried)."}, []string{"step"})
	deadLettersTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "changeproof_kafka_dead_letters_total",
		Help: "Consumed messages that could not be decoded, by topic."}, []string{"topic"})
	commitErrors = promauto.NewCounter(prometheus.CounterOpts{
		Name: "changeproof_kafka_commit_errors_total",
		Help: "Offset commits that failed after the batch was stored (the batch is redelivered; the store deduplicates)."})
)
