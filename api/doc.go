// Package api serves the HTTP API: the evidence API (findings, the
// population of changes, per-change evidence bundles), auditor samples
// (POST /v1/samples) and period reports (GET /v1/report), the operational
// endpoints (/healthz, /readyz, /metrics) and the OpenAPI document
// (openapi.json, served at /v1/openapi.json), with bearer-token roles
// (config.RoleIngest, config.RoleAuditor, config.RoleAdmin). The receivers
// (ingest/...) and the web workspace (api/ui) are handlers it routes to.
// Service holds the queries, so that the CLI answers from a local data dir
// with exactly what the HTTP API would return. docs/http.md is the short
// reference.
package api
