// Package enrich turns raw deliveries into canonical evidence records (pull
// request snapshots, reviews, pushes, protection changes) and runs the
// pipeline that stores both. Parsing is pure; the pipeline is the one place
// where deliveries become durable, whichever transport brought them.
package enrich
