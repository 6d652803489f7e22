// Package rules evaluates the controls over stored evidence: it collects a
// repository's evidence, runs every control's pure check, applies waivers,
// withdraws subjects that stopped being changes, and records each verdict
// that differs from the current one. It knows nothing of HTTP, Kafka or
// Slack; the store is reached through the Store interface.
package rules
