// Package alert sends a Slack message when a finding first becomes fail
// for CM-1, CM-2, CM-3, CM-5, CM-6, CM-7, AC-1 or AC-3, and for every judged
// AC-2 (break-glass) subject (docs/controls.md, "Alerts"; the README's
// "Slack alerts" shows a message).
//
// # Flow
//
// rules.Runner reports every recorded change of verdict to
// Sender.OnFindings. Decide (pure) picks the findings that owe an alert
// and gives each an id, "RULE|SUBJECT|TRANSITION" (transition "fail", or
// "break-glass" for AC-2). The Sender queues them in a durable outbox (the
// store's alerts table) unless the id is already there, in any state. Run
// then delivers queued, due alerts in order (due time, creation time, id):
// renders each (Renderer: Block Kit blocks and a plain-text fallback), posts
// it through a Transport (package slack: incoming webhook or
// chat.postMessage), and marks it sent only after Slack accepted it (2xx,
// and ok:true for chat.postMessage).
//
// A direct-push fail (OWNER/REPO@<sha>) is due only after Grace: when it
// becomes due the Sender re-reads the finding, and if it no longer fails
// (a late pull_request event showed the push was a merge) the alert is
// cancelled without a message.
//
// # Failures
//
// 429: wait Retry-After (else back off), then retry the same alert before
// any later one. 5xx, network errors and hangs (RequestTimeout): capped
// exponential backoff (BackoffBase doubling up to BackoffMax), same alert
// first; alerts queued meanwhile wait behind it and go out in order when
// Slack returns. Permanent refusals (invalid_auth, channel_not_found,
// invalid_payload, 4xx…): the alert is marked failed, logged and counted,
// never retried by itself (`changeproof alerts retry` reopens it, through
// store.RequeueFailedAlerts), and the next alert is sent.
//
// # Exactly once
//
// The outbox id makes re-evaluation, re-sent events and restarts
// idempotent: an id is queued once, and a sent alert is never queued
// again. State rows are versioned so that "sent" cannot be overwritten by
// a late claim or enqueue (store/migrations/004_alerts.sql).
//
// Several processes may share one outbox: a sender claims a prefix of the
// due alerts with a lease (claimed_by, claimed_until), renewed while it
// retries, and stops at the first alert another live sender holds, so
// order is kept. ClickHouse has no compare-and-set, so a claim is written,
// left to settle (Settle), read back, and kept only if it is still the
// current row; a claim that took longer than Settle/2 to write is given up.
// A single process needs no configuration. Alerts claimed by a process
// that died wait until its lease expires (Lease, 2m by default), then go
// out from whichever sender runs next, still in order.
//
// What is left, honestly: a message is sent twice only if Slack accepted
// it but the outcome could not be recorded — the process died between
// Slack's 2xx and the outbox write, a request timed out after Slack had
// in fact posted it, or the outbox stayed unwritable until the lease ran
// out (this process itself never resends: it remembers the delivery and
// records it later). An alert is lost only if the process dies between
// recording a changed finding and queueing its alert, or while the outbox
// refused the alert (held in memory meanwhile). Several processes also
// rely on their clocks agreeing to well within Lease/2 and on an insert
// being visible to reads once it returns (true of one ClickHouse server).
//
// # Digest
//
// With Digest set (alerts.digest), a round sends all due alerts (up to
// DigestLimit) as one digest message, listing the first DigestList and
// "…and M more", and marks them all sent; then no message goes out until
// Digest has passed since the last one. A noisy first import is then one
// message, not thousands.
//
// # Metrics
//
// changeproof_alerts_sent_total, changeproof_alerts_failed_total,
// changeproof_alerts_cancelled_total, changeproof_alerts_messages_total,
// changeproof_alerts_send_errors_total, changeproof_alerts_queued and
// changeproof_alerts_oldest_queued_seconds.
package alert
