// Package ingest accepts events from the outside (GitHub webhooks now; deploy
// and access events later) and hands them to a Sink, answering the sender only
// once the Sink says they are durable. Subpackages hold one receiver each.
package ingest
