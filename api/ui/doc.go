// Package ui is the auditor's web workspace under /ui/, served by the api
// role: sign in once with an auditor or admin token, then read the
// controls overview of a period, the findings with filters, one change's
// evidence, the access events, the exceptions of a period, and draw a
// sample or download the period report.
//
// Pages are rendered on the server with html/template from embedded
// templates and one embedded style sheet: no script, nothing loaded from
// elsewhere, readable without JavaScript and printable.
//
// # Sessions
//
// Signing in posts the token in the form body (never in a URL); the server
// keeps the session (the token, its role, a CSRF secret) in memory and gives
// the browser only a random session id in a cookie that is HttpOnly,
// SameSite=Strict, scoped to /ui/ and Secure when the request came over TLS.
// Every request re-checks the token, so a token removed from the
// configuration ends its sessions. Every form that changes state (sign out,
// drawing a sample) carries the session's CSRF secret; the sign-in form
// refuses cross-site posts by their Origin. Sessions end after Lifetime,
// on sign-out, or when the process restarts.
package ui
