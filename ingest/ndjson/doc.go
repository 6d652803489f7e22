// Package ndjson holds what the line-oriented receivers (deploys, access
// events) share: a bounded line reader, field access on one JSON object with
// errors that name the field, the collected problems of a line, and the
// batching of parsed items for the store (Batcher).
package ndjson
