package demoorg

// Access events of the systems that keep their own audit logs, each sent in
// its own format (Options.Operations), so every format of POST /v1/access
// is exercised end to end. The shapes follow the real samples in
// ingest/access/testdata (Elastic's integration test logs and a captured
// journald run), with this organisation's names, times and addresses:
//
//   - aws, format cloudtrail: one CloudTrail log file {"Records":[...]}:
//     console sign-ins of IAM users, SSM sessions started by the CI deploy
//     role's sessions (authorized by the glob pattern
//     "arn:aws:sts::123456789012:assumed-role/deploy-prod/*"), and one
//     DescribeInstances call, which is no access event (skipped);
//   - okta, format okta: user.session.start events, one of them failed,
//     and a policy.evaluate_sign_on (skipped);
//   - teleport, format teleport: session.start and a failed user.login,
//     and a resize (skipped);
//   - gcp, format gcp-audit: Cloud Audit Log entries of people and a
//     service account, one denied (status code 7), and an entry of another
//     log (skipped);
//   - jump-eu, format journald: `journalctl -o json` sshd entries, and a
//     session line (skipped).
//
// A principal in these systems is the name the system logs (an ARN, an
// e-mail address, a Teleport user); the authorized lists name them.

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The systems and formats of this file.
const (
	SystemAWS      = "aws"
	SystemOkta     = "okta"
	SystemTeleport = "teleport"
	SystemGCP      = "gcp"
	SystemJump     = "jump-eu"

	FormatCloudTrail = "cloudtrail"
	FormatOkta       = "okta"
	FormatTeleport   = "teleport"
	FormatGCPAudit   = "gcp-audit"
	FormatJournald   = "journald"

	awsAccount        = "123456789012"
	DeployRolePattern = "arn:aws:sts::" + awsAccount + ":assumed-role/deploy-prod/*"
	gcpDeployer       = "deployer@acme-prod.iam.gserviceaccount.com"
	emailDomain       = "@acme.io"
	journalBoot       = "37d7e4942ca344098667dd8c96ad107e"
	journalMachine    = "3d1219c7c4c5404aaa1f6d2a48adfda4"
)

func awsUser(who string) string { return "arn:aws:iam::" + awsAccount + ":user/" + who }

var formatSystems = map[string]SystemConfig{
	SystemAWS:      {Authorized: []string{awsUser("alice"), awsUser("bob"), DeployRolePattern}},
	SystemOkta:     {Authorized: []string{"alice" + emailDomain, "bob" + emailDomain, "carol" + emailDomain}},
	SystemTeleport: {Authorized: []string{"alice", "frank"}},
	SystemGCP:      {Authorized: []string{"alice" + emailDomain, gcpDeployer}},
	SystemJump:     {Authorized: []string{"alice", "bob"}},
}

// formatEvents adds the events of the systems above.
func (g *gen) formatEvents(from, to time.Time, add func(*accessEv)) {
	ev := func(system, who, result string, at time.Time) *accessEv {
		return &accessEv{system: system, at: at, principal: who, result: result, ip: ip("10.8", who)}
	}
	skip := func(system, who string, at time.Time) {
		e := ev(system, who, "success", at)
		e.received = true // not an access event: must be skipped
		add(e)
	}
	ts := g.workTimes(10, from, to)
	for i, who := range []string{"alice", "bob", "alice"} {
		add(ev(SystemAWS, awsUser(who), "success", ts[i]))
	}
	for i := range 3 {
		e := ev(SystemAWS, "arn:aws:sts::"+awsAccount+":assumed-role/deploy-prod/ci-"+strconv.Itoa(4100+g.x.intn(800)), "success", ts[3+i])
		e.action, e.ip = "StartSession", "10.12.0.7"
		add(e)
	}
	add(ev(SystemAWS, awsUser("ivan"), "failure", ts[6]))
	skip(SystemAWS, awsUser("alice"), ts[7])

	ts = g.workTimes(8, from, to)
	for i, who := range []string{"alice", "bob", "carol", "alice", "bob"} {
		add(ev(SystemOkta, who+emailDomain, "success", ts[i]))
	}
	add(ev(SystemOkta, "eve"+emailDomain, "failure", ts[5]))
	skip(SystemOkta, "alice"+emailDomain, ts[6])

	ts = g.workTimes(6, from, to)
	for i, who := range []string{"alice", "frank", "alice"} {
		add(ev(SystemTeleport, who, "success", ts[i]))
	}
	add(ev(SystemTeleport, "ivan", "failure", ts[3]))
	skip(SystemTeleport, "alice", ts[4])

	ts = g.workTimes(6, from, to)
	for i, who := range []string{"alice" + emailDomain, gcpDeployer, "alice" + emailDomain} {
		add(ev(SystemGCP, who, "success", ts[i]))
	}
	add(ev(SystemGCP, "erin"+emailDomain, "failure", ts[3]))
	skip(SystemGCP, "", ts[4])

	ts = g.workTimes(6, from, to)
	for i, who := range []string{"alice", "bob", "alice"} {
		add(ev(SystemJump, who, "success", ts[i]))
	}
	add(ev(SystemJump, "ivan", "failure", ts[3]))
	skip(SystemJump, "bob", ts[4])
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func milli(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// cloudTrailRecord is one record of the aws log file (CloudTrail record
// contents, eventVersion 1.08).
func (g *gen) cloudTrailRecord(e *accessEv) []byte {
	e.id = uuidish(g.sha("cloudtrail", e.principal, e.at.Unix(), g.x.next()))
	ident := map[string]any{"type": "IAMUser", "principalId": "AIDA" + strings.ToUpper(g.sha("pid", e.principal)[:16]),
		"arn": e.principal, "accountId": awsAccount, "userName": e.principal[strings.LastIndexByte(e.principal, '/')+1:]}
	rec := map[string]any{"eventVersion": "1.08", "userIdentity": ident, "eventTime": rfc3339(e.at),
		"eventSource": "signin.amazonaws.com", "eventName": "ConsoleLogin", "awsRegion": "eu-central-1",
		"sourceIPAddress": e.ip, "userAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:126.0) Gecko/20100101 Firefox/126.0",
		"requestParameters": nil, "responseElements": map[string]string{"ConsoleLogin": "Success"},
		"additionalEventData": map[string]string{"LoginTo": "https://console.aws.amazon.com/console/home", "MobileVersion": "No", "MFAUsed": "Yes"},
		"eventID":             e.id, "readOnly": false, "eventType": "AwsConsoleSignIn", "managementEvent": true,
		"recipientAccountId": awsAccount, "eventCategory": "Management"}
	switch {
	case e.received:
		rec["eventSource"], rec["eventName"], rec["eventType"], rec["readOnly"] = "ec2.amazonaws.com", "DescribeInstances", "AwsApiCall", true
		rec["responseElements"] = nil
		rec["requestParameters"] = map[string]any{"instancesSet": map[string]any{}, "filterSet": map[string]any{}}
	case e.action == "StartSession":
		session := e.principal[strings.LastIndexByte(e.principal, '/')+1:]
		ident["type"], ident["principalId"] = "AssumedRole", "AROAEXAMPLEDEPLOY:"+session
		delete(ident, "userName")
		ident["sessionContext"] = map[string]any{"sessionIssuer": map[string]string{"type": "Role", "principalId": "AROAEXAMPLEDEPLOY",
			"arn": "arn:aws:iam::" + awsAccount + ":role/deploy-prod", "accountId": awsAccount, "userName": "deploy-prod"}}
		rec["eventSource"], rec["eventName"], rec["eventType"] = "ssm.amazonaws.com", "StartSession", "AwsApiCall"
		rec["requestParameters"] = map[string]string{"target": "i-0" + g.sha("instance", session)[:16]}
		rec["responseElements"] = map[string]string{"sessionId": session + "-" + g.sha("ssm", session)[:17]}
	case e.result == "failure":
		rec["errorMessage"] = "Failed authentication"
		rec["responseElements"] = map[string]string{"ConsoleLogin": "Failure"}
	}
	return mustJSON(rec)
}

// uuidish formats 32 hex digits as a UUID.
func uuidish(h string) string {
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// oktaLine is one System Log event.
func (g *gen) oktaLine(e *accessEv) []byte {
	e.id = uuidish(g.sha("okta", e.principal, e.at.Unix(), g.x.next()))
	typ, display, legacy, outcome := "user.session.start", "User login to Okta", "core.user_auth.login_success", map[string]any{"result": "SUCCESS", "reason": nil}
	switch {
	case e.received:
		typ, display, legacy = "policy.evaluate_sign_on", "Evaluation of sign-on policy", ""
		outcome = map[string]any{"result": "ALLOW", "reason": "Sign-on policy evaluation resulted in ALLOW"}
	case e.result == "failure":
		legacy = "core.user_auth.login_failed"
		outcome = map[string]any{"result": "FAILURE", "reason": "INVALID_CREDENTIALS"}
	}
	ev := map[string]any{
		"actor":                 map[string]any{"id": "00u" + g.sha("okta user", e.principal)[:17], "type": "User", "alternateId": e.principal, "displayName": strings.TrimSuffix(e.principal, emailDomain), "detailEntry": nil},
		"client":                map[string]any{"userAgent": map[string]string{"rawUserAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:126.0) Gecko/20100101 Firefox/126.0", "os": "Mac OS X", "browser": "FIREFOX"}, "zone": "null", "device": "Computer", "id": nil, "ipAddress": e.ip},
		"authenticationContext": map[string]any{"authenticationStep": 0, "externalSessionId": "102" + g.sha("okta session", e.id)[:22]},
		"displayMessage":        display, "eventType": typ, "outcome": outcome, "published": milli(e.at), "severity": "INFO",
		"debugContext":    map[string]any{"debugData": map[string]string{"requestUri": "/api/v1/authn", "url": "/api/v1/authn?"}},
		"legacyEventType": legacy, "transaction": map[string]any{"type": "WEB", "id": g.sha("okta tx", e.id)[:27], "detail": map[string]any{}},
		"uuid": e.id, "version": "0", "target": nil,
		"request": map[string]any{"ipChain": []map[string]any{{"ip": e.ip, "version": "V4", "source": nil}}},
	}
	if legacy == "" {
		ev["legacyEventType"] = nil
	}
	return mustJSON(ev)
}

// teleportLine is one audit event of the file backend's events.log.
func (g *gen) teleportLine(e *accessEv) []byte {
	e.id = uuidish(g.sha("teleport", e.principal, e.at.Unix(), g.x.next()))
	port := 40000 + g.x.intn(25000)
	ev := map[string]any{"code": "T2000I", "ei": 0, "event": "session.start", "login": "ubuntu", "namespace": "default",
		"server_id": uuidish(g.sha("node", "db-1")), "server_hostname": "db-1", "sid": uuidish(g.sha("sid", e.id)),
		"size": "80:25", "time": milli(e.at), "uid": e.id, "user": e.principal,
		"addr.local": "10.20.0.11:3022", "addr.remote": e.ip + ":" + strconv.Itoa(port), "cluster_name": "acme"}
	switch {
	case e.received:
		ev = map[string]any{"code": "T2002I", "ei": 3, "event": "resize", "login": "ubuntu", "namespace": "default",
			"sid": uuidish(g.sha("sid", e.id)), "size": "120:40", "time": milli(e.at), "uid": e.id, "user": e.principal}
	case e.result == "failure":
		ev = map[string]any{"code": "T1000W", "error": "invalid username, password or second factor", "event": "user.login",
			"method": "local", "success": false, "time": milli(e.at), "uid": e.id, "user": e.principal,
			"addr.remote": e.ip + ":" + strconv.Itoa(port), "cluster_name": "acme"}
	}
	return mustJSON(ev)
}

// gcpLine is one Cloud Logging LogEntry with an AuditLog payload.
func (g *gen) gcpLine(e *accessEv) []byte {
	e.id = g.sha("gcp", e.principal, e.at.Unix(), g.x.next())[:12]
	if e.received {
		return mustJSON(map[string]any{"insertId": e.id, "logName": "projects/acme-prod/logs/stdout",
			"resource":    map[string]any{"type": "k8s_container", "labels": map[string]string{"project_id": "acme-prod"}},
			"textPayload": "GET /healthz 200", "timestamp": micro(e.at), "severity": "INFO", "receiveTimestamp": micro(e.at.Add(time.Second))})
	}
	method, resource, code := "v1.compute.instances.get", "projects/acme-prod/zones/europe-west3-a/instances/db-1", 0
	if e.principal == gcpDeployer {
		method, resource = "v1.compute.instances.setMetadata", "projects/acme-prod/zones/europe-west3-a/instances/app-1"
	}
	if e.result == "failure" {
		code = 7
	}
	proto := map[string]any{"@type": "type.googleapis.com/google.cloud.audit.AuditLog",
		"authenticationInfo": map[string]string{"principalEmail": e.principal},
		"requestMetadata":    map[string]string{"callerIp": e.ip, "callerSuppliedUserAgent": "google-cloud-sdk gcloud/480.0.0"},
		"serviceName":        "compute.googleapis.com", "methodName": method, "resourceName": resource,
		"authorizationInfo": []map[string]any{{"permission": "compute.instances.get", "granted": code == 0, "resourceAttributes": map[string]any{}}},
		"status":            map[string]any{}}
	if code != 0 {
		proto["status"] = map[string]any{"code": code, "message": "PERMISSION_DENIED"}
	}
	return mustJSON(map[string]any{"protoPayload": proto, "insertId": e.id,
		"resource":  map[string]any{"type": "gce_instance", "labels": map[string]string{"project_id": "acme-prod", "zone": "europe-west3-a"}},
		"timestamp": micro(e.at), "severity": "NOTICE", "logName": "projects/acme-prod/logs/cloudaudit.googleapis.com%2Factivity",
		"receiveTimestamp": micro(e.at.Add(900 * time.Millisecond))})
}

// journalLine is one `journalctl -o json` entry of sshd.
func (g *gen) journalLine(e *accessEv) []byte {
	pid := strconv.Itoa(10000 + g.x.intn(50000))
	port := 40000 + g.x.intn(25000)
	msg := fmt.Sprintf("Accepted publickey for %s from %s port %d ssh2: ED25519 SHA256:%s", e.principal, e.ip, port, keyFingerprint(e.principal))
	switch {
	case e.received:
		msg = fmt.Sprintf("pam_unix(sshd:session): session opened for user %s(uid=1001) by (uid=0)", e.principal)
	case e.result == "failure":
		msg = fmt.Sprintf("Failed password for %s from %s port %d ssh2", e.principal, e.ip, port)
	}
	us := strconv.FormatInt(e.at.UnixMicro(), 10)
	b := mustJSON(map[string]string{"_BOOT_ID": journalBoot, "_MACHINE_ID": journalMachine, "_HOSTNAME": "jump-eu-1",
		"_TRANSPORT": "syslog", "SYSLOG_FACILITY": "4", "PRIORITY": "6", "SYSLOG_IDENTIFIER": "sshd", "SYSLOG_PID": pid,
		"_PID": pid, "_COMM": "sshd", "_EXE": "/usr/sbin/sshd", "_UID": "0", "_GID": "0", "MESSAGE": msg,
		"__REALTIME_TIMESTAMP": us, "_SOURCE_REALTIME_TIMESTAMP": us, "__MONOTONIC_TIMESTAMP": strconv.FormatInt(e.at.Unix()%100000000*1000, 10),
		"SYSLOG_TIMESTAMP": syslog(e.at) + " ", "__CURSOR": "s=" + g.sha("cursor", e.at.UnixNano())[:32] + ";i=" + strconv.Itoa(g.x.intn(99999))})
	sum := sha256.Sum256([]byte(e.system + "\n" + string(b)))
	e.id = hex.EncodeToString(sum[:])
	return b
}
