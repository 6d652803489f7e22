// Package ingest accepts events from the outside — GitHub webhooks
// (ingest/github), deploys from CI/CD (ingest/deploy), access logs
// (ingest/access), GitHub's REST API (ingest/backfill) — checks them, turns
// each into a record of the evidence log (model.Delivery: the bytes as
// received, plus what was parsed from them) and hands them to a Log,
// answering the sender only once the Log says they are durable. Every bad
// line is answered with its number and the reason, and never blocks the
// good ones. The group Committer makes one durable write of many
// concurrent requests; the spool (ingest/spool) is the embedded mode's
// durable log.
package ingest
