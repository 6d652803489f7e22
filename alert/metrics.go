package alert

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Metrics, registered with the default registry (served at /metrics).
var (
	sentTotal = promauto.NewCounter(prometheus.CounterOpts{Name: "changeproof_alerts_sent_total",
		Help: "Alerts Slack accepted (a digest counts every alert it carries)."})
	failedTotal = promauto.NewCounter(prometheus.CounterOpts{Name: "changeproof_alerts_failed_total",
		Help: "Alerts Slack refused for good (bad credentials, unknown channel, rejected payload); kept in the outbox as failed."})
	cancelledTotal = promauto.NewCounter(prometheus.CounterOpts{Name: "changeproof_alerts_cancelled_total",
		Help: "Direct-push alerts cancelled because the finding stopped failing within the grace period."})
	messagesTotal = promauto.NewCounter(prometheus.CounterOpts{Name: "changeproof_alerts_messages_total",
		Help: "Slack messages posted (a digest is one message)."})
	attemptErrorsTotal = promauto.NewCounter(prometheus.CounterOpts{Name: "changeproof_alerts_send_errors_total",
		Help: "Unsuccessful delivery attempts, retried or not."})
	queuedGauge = promauto.NewGauge(prometheus.GaugeOpts{Name: "changeproof_alerts_queued",
		Help: "Alerts waiting in the outbox, including direct-push alerts in their grace period."})
	oldestQueuedGauge = promauto.NewGauge(prometheus.GaugeOpts{Name: "changeproof_alerts_oldest_queued_seconds",
		Help: "Age of the oldest queued alert in seconds; 0 when none is queued."})
)
