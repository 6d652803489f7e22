// Package store keeps changeproof's evidence in ClickHouse: the append-only
// raw log, the canonical tables enrichment derives from it, and the findings
// history. The SQL here is the only SQL; it runs unchanged on the embedded
// engine (store/chdb) and on a ClickHouse server.
//
// Files are named for what they hold: write.go (one batch into every
// table), findings.go, changes.go, access.go, deploys.go, waivers.go,
// deadletters.go, conflicts.go, counts.go (the population, evidence and
// verdict reads), chain*.go and keyfilter.go (the raw log's hash chain and
// key filter), evidence*.go (one repository's evidence for the controls),
// population_bundles.go (the evidence of a sample's members), migrate.go
// and migrations/, db.go and params.go (the engine interface),
// sql_literals.go (quoting for the rare literal a parameter cannot carry).
//
// The store reads rows and decides nothing about what they mean: the
// changes of a repository are derived from the rows it reads
// (model.ChangeRecords) by rules/change, which the store never imports.
// The database beneath a store is not on its API; tests reach it through
// store/storetest.
package store
