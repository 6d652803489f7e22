// Package api serves the evidence API (findings, the population of changes,
// per-change evidence bundles) and the operational endpoints (/healthz,
// /readyz, /metrics), with bearer-token roles. Service holds the queries so
// that the CLI answers from a local data dir with exactly what the HTTP API
// would return.
package api
