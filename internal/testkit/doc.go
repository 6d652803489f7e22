// Package testkit is the home of changeproof's generators and fakes: code
// that makes evidence rather than judging it. fixture builds GitHub webhook
// payloads from recorded real examples; demoorg generates a whole
// organisation's history (webhooks, deploys, access logs in real formats)
// for `changeproof demo`, `changeproof bench generate` and the tests;
// githubfake is a GitHub-compatible REST server for tests and benchmarks.
//
// Nothing on the serving path (receivers, pipeline, store, rules, API)
// imports these packages; only tests, the demo and the bench commands do.
package testkit
