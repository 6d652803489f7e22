// Package enrich turns GitHub deliveries (webhooks, and the REST responses
// backfill records) into canonical evidence records: pull request
// snapshots, reviews, pushes, contributors, check results, branch
// protection and ruleset changes. ParseGitHub is pure: it reads one
// delivery's bytes and adds what they say to a model.Batch. It does no
// I/O; pipeline.Deriver calls it on every record of the evidence log and
// stores the result, and backfill reads rulesets through ParseRuleset, so a
// change seen by webhook and by backfill is parsed by the same code.
//
// github.go holds the payload shapes and ParseGitHub; github_fast.go reads
// the few fields the controls need out of large payloads with
// internal/jsonscan, falling back to encoding/json for anything it does not
// reproduce exactly; github_depth.go holds rulesets, check results and
// contributors.
package enrich
