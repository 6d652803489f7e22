// Package pipeline is changeproof's evidence flow, from an accepted event
// to a finding:
//
//	receiver (ingest) --Intake.Append--> durable log (spool | Kafka)
//	    --Loader--> Deriver.Process: dedup, conflicts, poison, derive, store
//	    --> rules (repositories re-judged, access events judged) --> alerts
//
// Every source travels the same way: a GitHub delivery, a deploy line, an
// access event, each a model.Delivery record whose body is the bytes as
// received. The durable log answers before the sender is told 2xx; the
// loader moves records into the store in order and never skips one: a
// record that cannot be derived is dead-lettered with its reason, and only
// an unavailable store stops the log (and /readyz then answers 503).
//
// cmd/changeproof wires the concrete log (the spool embedded, Kafka
// distributed), store and rules; this package knows them only by the small
// interfaces here.
package pipeline
