// Package ndjson holds what the line-oriented receivers (deploys, access
// events) share: a bounded line reader, field access on one JSON object with
// errors that name the field, and the collected problems of a line.
package ndjson
