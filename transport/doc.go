// Package transport is the Kafka evidence log of the distributed mode: the
// producer the receivers write accepted records (model.Delivery, every
// source) to, and the consumer the pipeline workers read them from.
//
// # Topics
//
// One topic per source, all under Options.TopicPrefix:
//
//	<prefix>github      GitHub deliveries and REST responses, keyed by
//	                    repository.full_name (the id when none is named)
//	<prefix>deploy      deploy records, keyed by deploy id
//	<prefix>access      access records, keyed by system
//
// Every message is one record's envelope: its header as JSON, its body
// byte for byte (spliced in as JSON when it is JSON that survives the
// round trip, base64 otherwise) and the receiver's parse (meta, base64). Version 1
// deploy and access envelopes are still read, as records.
//
//	<prefix>deadletter  messages the consumer could not decode, with the reason
//
// Keying by subject puts all of one subject's events in one partition, so
// they are consumed in the order they were accepted. EnsureTopics creates
// missing topics with Options.Partitions partitions.
//
// # At-least-once in, exactly-once effect
//
// Producing: Producer.Accept returns only after every message is
// acknowledged by all in-sync replicas (RequiredAcks: all); only then does a
// receiver answer 2xx. A failed or timed-out write returns an error, the
// sender retries, and the event may be in the log twice: the log is
// at-least-once.
//
// Consuming: a Consumer fetches a batch (FetchMessage, up to BatchSize
// messages or BatchWait), hands it to its Handlers, and commits the highest
// offset of each partition in the batch only after the handlers returned nil,
// that is, after the store acknowledged it. Messages of a partition arrive in
// offset order and every batch is stored whole before its commit, so the
// committed offset never passes a message that is not stored. A handler
// error is retried with backoff on the same batch, forever: a batch is never
// skipped. If the worker dies, is stopped, or loses the partition in a
// rebalance before the commit, the group redelivers from the last commit.
// Nothing is lost; a message may be handled more than once.
//
// Exactly-once effect comes from the store, not from Kafka: every record
// carries a stable id (GitHub delivery id, deploy id, access event id; for a
// dead letter its topic/partition/offset), and the pipeline (pipeline.
// Deriver) stores a record only when its id is new: the same bytes again
// are a duplicate, other bytes a conflict kept apart, so storing a
// redelivered batch again has the effect of storing it once. The dead-letter topic itself is
// at-least-once; its messages carry the source topic, partition and offset
// in headers for deduplication.
//
// A message that cannot be decoded (not an envelope this version writes, a
// missing id, a body whose SHA-256 does not match) is a dead letter: it goes
// to the DeadLetter handler (the dead-letter table) and to the dead-letter
// topic with the reason, and is committed with its batch, so it never blocks
// its partition.
package transport
