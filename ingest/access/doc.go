// Package access parses access events to production systems (POST /v1/access,
// `changeproof ingest access`) into model.AccessEvent records, from the logs
// the systems write: generic NDJSON, sshd through syslog or journald,
// Kubernetes audit (plain, GKE, AKS), CloudTrail, Okta, GCP audit and
// Teleport. It does no I/O beyond reading the given io.Reader: the HTTP
// handler and the CLI call it and store what it emits.
//
// A line may hold several events (rsyslog's "message repeated N times"), and
// the JSON formats also take whole documents of records (a CloudTrail log
// file, an EventList, an API answer), on one line or pretty-printed, up to
// MaxDocumentBytes. Every event's Raw is the exact bytes that produced it:
// the line, or the record's own bytes inside a document. Ids are not made
// unique here: records that share an id (three Kubernetes events with one
// auditID) are each emitted with their own Raw, and the store decides what a
// repeated id means.
//
// Read streams: it holds at most one batch of events plus the current line
// (or JSON document), and rejects a line over MaxLineBytes (1 MiB; for the
// JSON formats, a line or document over MaxDocumentBytes, 64 MiB) without
// buffering it whole.
// Every line is accepted (emitted), skipped (valid input that is not an
// access event, e.g. an sshd "Disconnected" message or a k8s RequestReceived
// stage) or rejected with its 1-based line number and a reason naming the
// field. Blank lines are ignored and counted nowhere. Lines end at "\n"; a
// "\r" before it is part of the terminator, not of Raw.
//
// Every event gets Format, Raw (the line as received, without its
// terminator, or a document's record as received), ReceivedAt (Options.Now,
// UTC) and times in UTC.
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
// # sshd (also named syslog)
//
// OpenSSH log lines as syslog writes them: RFC 3164 ("Mar  2 10:15:03
// bastion sshd[12345]: ...", day padded with a space or a zero, or not
// padded), RFC 3339 timestamps (rsyslog's high precision, journalctl
// short-iso), or RFC 5424 ("<38>1 2026-01-19T14:23:55+00:00 host sshd 44255 -
// - ..."); "<PRI>" optional; the host may be missing ("Nov 23 21:50:19
// sshd[8148]: ...", "[sshd]: ..."). Programs sshd, sshd-session and
// sshd-auth (OpenSSH 9.8+) are read; other programs are skipped. Messages,
// as OpenSSH writes them (auth.c, auth2.c, auth-pam.c, older releases):
//
//	Accepted METHOD for USER from ADDR port N ssh2[: INFO]  -> success
//	Failed METHOD for [invalid user ]USER from ADDR ...     -> failure
//	Invalid user USER from ADDR [port N]                    -> failure
//	User USER from ADDR not allowed because REASON          -> failure
//	ROOT LOGIN REFUSED FROM ADDR [port N]                   -> failure (root)
//	PAM: Authentication failure for [illegal user ]USER from HOST [via ADDR]
//	                                                        -> failure
//	message repeated N times: [ MESSAGE]                    -> N events (N <= 1000)
//
// prefixed or not by "error: " or Solaris' "[ID 800047 auth.info] ". The
// action is "ssh login (METHOD)", "ssh login (METHOD, invalid user)", "ssh
// login (invalid user)", "ssh login (pam)", "ssh login (root login
// refused)" or "ssh login (not allowed because REASON)"; principal is USER
// ("" when OpenSSH logged an empty or "<invalid username>" one: AC-1 then
// says error), source_ip ADDR when it is an IP address, source
// "sshd@HOST". The address is the last " from ADDR port N" of the line:
// OpenSSH writes the user name before it, so a user name holding
// " from 10.9.9.9 port 4242 ssh2" cannot move it. Other sshd messages
// (Disconnected, Connection closed, pam_unix, Postponed, maximum
// authentication attempts...) are skipped. A line that is not syslog-shaped
// is rejected. The id is the hex SHA-256 of System + "\n" + the raw line, so
// an identical line sent again is the same event; the N events of a repeated
// message add "\n" and their 1-based index.
//
// Classic timestamps carry no year: it is Options.Year when set, else Now's
// year, or an earlier one when that would put the event more than a day in
// the future (a December line read in January), or when the date does not
// exist that year (Feb 29). They are read in Options.Location.
//
// The other formats (journald, cloudtrail, okta, gcp-audit, teleport, and
// the k8s-audit variants) are documented with their field mappings in the
// README's "Access log formats" section and on their parse functions.
package access
