// Package deploy parses deploy events sent by CI/CD (POST /v1/deploys,
// `changeproof ingest deploy`) into model.Deploy records. It does no I/O
// beyond reading the given io.Reader: the HTTP handler and the CLI call it and
// store what it emits.
//
// Input is one JSON object, a single pretty-printed (multi-line) JSON object,
// or newline-delimited JSON (one object per line, blank lines ignored). A bad
// line is rejected with its 1-based line number and a reason naming the
// field; it never blocks the good lines around it. A pretty-printed object is
// recognised by a first line holding only "{" (as json.MarshalIndent, jq and
// Python's json.dumps write it) and is gathered until its braces balance; it
// is reported under the number of that first line. A line (or gathered
// object) over MaxLineBytes (1 MiB) is rejected without being held whole.
//
// Fields (docs/http.md, "Ingest endpoints"):
//
//	id           required; unique, a repeated id is the same deploy
//	service      required
//	environment  required
//	sha          required; 40 hex characters, stored lower case
//	repo         "owner/name"; optional when scope.services maps the service
//	             to exactly one repository (then filled in from there)
//	status       required; success | failure | in_progress
//	actor        required
//	started_at   required; RFC 3339
//	finished_at  RFC 3339; required when status is success or failure (a
//	             finished deploy has a finish time, and the rules judge a
//	             deploy at finished_at), must be absent while status is
//	             in_progress, never before started_at
//	pipeline, url, version  optional strings
//
// Unknown fields are errors, so a typo ("shaa") is caught instead of silently
// dropping the value. JSON null counts as absent. Times are stored in UTC.
// Every record gets Source "api" and ReceivedAt from Options.Now.
//
// When a line has several problems, the reason lists them all, separated by
// "; ": unknown fields first (sorted), then field errors in the order of the
// list above.
package deploy
