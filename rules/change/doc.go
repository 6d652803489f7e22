// Package change says what a change is: the one derivation of a
// repository's changes (docs/controls.md, "Change") from the rows a store
// reads (model.ChangeRecords).
//
// A change is one movement of a default branch: a pull request merged into
// its repository's default branch (the first-received snapshot that
// records the merge counts, whatever order the events arrived in), or a
// direct push, a push that moved the default branch to a commit that is no
// merged pull request's merge commit (one per commit: the first received).
// Pushes that create or delete the branch move nothing.
//
// The evaluator derives the changes it judges here (Derive), and the
// evidence bundles an auditor samples find theirs here too (Lookup), so a
// sampled change is the change that was judged. The functions are pure:
// they read their arguments only, never modify them, and give the same
// answer whatever order the rows come in. The package depends on model
// alone, so any package may use it without importing the controls.
//
// The SQL view changes (store/migrations/001_init.sql) states the same
// population for auditors' own queries; a store test holds the two equal.
package change
