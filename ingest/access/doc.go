// Package access parses access events to production systems (POST /v1/access,
// `changeproof ingest access`) into model.AccessEvent records, from one of
// three line formats. It does no I/O beyond reading the given io.Reader: the
// HTTP handler and the CLI call it and store what it emits.
//
// Read streams: it holds at most one batch of events plus the current line,
// and rejects a line over MaxLineBytes (1 MiB) without buffering it whole.
// Every line is accepted (emitted), skipped (valid input that is not an
// access event, e.g. an sshd "Disconnected" message or a k8s RequestReceived
// stage) or rejected with its 1-based line number and a reason naming the
// field. Blank lines are ignored and counted nowhere. Lines end at "\n"; a
// "\r" before it is part of the terminator, not of Raw.
//
// Every event gets Format, Raw (the line as received, without its
// terminator), ReceivedAt (Options.Now, UTC) and times in UTC.
//
// # generic
//
// NDJSON, one object per line: id, time (RFC 3339), principal, system,
// action, result (success|failure) are required; role, ticket, source_ip (an
// IP address) and source are optional. A line without system gets
// Options.System. Unknown fields are errors. Several problems in one line are
// all reported, separated by "; ": unknown fields first (sorted), then field
// errors in the order above.
//
// # k8s-audit
//
// Kubernetes audit.k8s.io/v1 Event objects as written by kube-apiserver's log
// or webhook backend, one per line. Unknown fields are ignored (the schema is
// Kubernetes', and grows). Mapping:
//
//	id         auditID
//	time       requestReceivedTimestamp
//	system     Options.System (the configured cluster name)
//	principal  user.username: the authenticated user, who is accountable
//	           even when impersonating someone else
//	action     verb + " " + resource[/subresource] + " " + namespace/name,
//	           e.g. "create pods/exec default/nginx"; a cluster-scoped
//	           object is just its name ("get nodes node-1"), a request on a
//	           namespace's collection ends in "namespace/" ("list secrets
//	           prod/"); a non-resource request is verb + path ("get /version").
//	           When impersonating, " (as USERNAME)" is appended with the
//	           impersonated user.
//	result     failure when stage is Panic, responseStatus.code >= 400, or
//	           annotation authorization.k8s.io/decision is "forbid"; else
//	           success
//	role       the first of impersonatedUser.groups, impersonatedUser.username,
//	           user.groups that is in Options.BreakGlassRoles (impersonated
//	           identity first: it is what the request ran as), else ""
//	ticket     annotation "changeproof.io/ticket" (an admission webhook
//	           named changeproof.io adding audit annotation "ticket"
//	           produces this key), else ""
//	source_ip  sourceIPs[0] (the client; the rest are proxies)
//	source     "k8s-audit"
//
// Only stages ResponseComplete and Panic are events; RequestReceived and
// ResponseStarted lines are counted as skipped, since the same auditID would
// otherwise be recorded twice.
//
// # sshd
//
// OpenSSH log lines as syslog writes them, with a classic timestamp
// ("Mar  2 10:15:03 bastion sshd[12345]: ...", in Options.Location, UTC if
// nil) or an RFC 3339 one ("2026-03-02T10:15:03.123456+00:00 bastion
// sshd[12345]: ..."), optionally preceded by a "<PRI>" field. Programs sshd,
// sshd-session and sshd-auth (OpenSSH 9.8+ logs authentication from
// sshd-session) are read; other programs are skipped. Messages, as OpenSSH's
// auth.c writes them:
//
//	Accepted METHOD for USER from IP port N ssh2[: INFO]   -> success
//	Failed METHOD for [invalid user ]USER from IP port N ssh2[: INFO]
//	                                                       -> failure
//	Invalid user USER from IP [port N]                     -> failure
//
// The action is "ssh login (METHOD)", "ssh login (METHOD, invalid user)" or
// "ssh login (invalid user)"; principal is USER, source_ip IP, source
// "sshd@HOST". Other sshd messages (Disconnected, Received disconnect,
// Connection closed, pam_unix session lines, Partial/Postponed
// authentication...) are skipped. A line that is not syslog-shaped is
// rejected. The id is the hex SHA-256 of System + "\n" + the raw line, so an
// identical repeated line is the same event.
//
// Classic timestamps carry no year: it is Now's year, or an earlier one when
// that would put the event more than a day in the future (a December line
// read in January), or when the date does not exist that year (Feb 29).
package access
