package demoorg

// Access events (Options.Operations): who got into production, as the
// generic, k8s-audit and sshd formats of POST /v1/access carry it (the
// other formats are in access_formats.go).
//
//   - prod-db, format generic (NDJSON from the database proxy's audit log,
//     source "pgaudit"): connections with role readonly or readwrite, and
//     the break-glass role breakglass-dba;
//   - prod-k8s, format k8s-audit (audit.k8s.io/v1 Event objects at level
//     Metadata): kubectl get/list/logs/exec/delete by engineers, and the CI
//     deployer service account patching deployments. Break-glass use is
//     membership of the group "break-glass" (so access.systems lists it as
//     the break-glass role); its ticket is the annotation
//     changeproof.io/ticket. A few RequestReceived-stage copies of events
//     (same auditID) are not events and must be skipped;
//   - bastion, format sshd (syslog lines from the jump host): "Accepted
//     publickey for USER from IP port N ssh2: KEY SHA256:..." and "Failed
//     password for [invalid user ]USER from IP port N ssh2", between PAM
//     session and disconnect lines, which must be skipped. Syslog lines have
//     no year: every line is within 90 days before Now, so the year is the
//     one that puts the line at or before Now (and before the time of
//     receipt). The event id is the hex SHA-256 of "bastion\n" + the line.
//   - staging-db, format generic: a system that is not in access.systems
//     (CatAccessOutOfScope), so it must produce no finding.
//
// Outcomes assume access.systems as Expectations.Systems and the default
// ticket pattern. Every event is judged, whatever its result: docs/controls.md
// makes every access event to an in-scope system an AC-1 subject, so a
// failed login (CatAccessFailedAttempt) is judged on who tried; by a
// principal nobody authorized, it fails.

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/changeproof/changeproof/internal/testkit/fixture"
	"github.com/changeproof/changeproof/model"
)

// Systems, roles and principals of the access events.
const (
	SystemDB          = "prod-db"
	SystemK8s         = "prod-k8s"
	SystemBastion     = "bastion"
	SystemStagingDB   = "staging-db" // not in access.systems
	RoleDBBreakGlass  = "breakglass-dba"
	RoleK8sBreakGlass = "break-glass" // a Kubernetes group
	K8sDeployer       = "system:serviceaccount:ci:deployer"
	// K8sTicketAnnotation carries a break-glass ticket in a k8s audit event.
	K8sTicketAnnotation = "changeproof.io/ticket"
)

// Access formats, as POST /v1/access names them.
const (
	FormatGeneric  = "generic"
	FormatK8sAudit = "k8s-audit"
	FormatSSHD     = "sshd"
)

// defaultTicket is policy.ticket_pattern's default.
var defaultTicket = regexp.MustCompile(`[A-Z][A-Z0-9]+-[0-9]+`)

// k8sOp is what a Kubernetes request did.
type k8sOp struct {
	verb, resource, group, name, sub, query string
	code                                    int
}

type accessEv struct {
	system    string
	at        time.Time
	principal string
	result    string // success | failure
	role      string
	ticket    string
	ip        string
	action    string // generic
	groups    []string
	op        k8sOp
	invalid   bool // sshd: "invalid user"
	received  bool // k8s: an extra RequestReceived-stage line (skipped)
	id        string
	line      []byte
}

// workTimes returns n distinct-ish moments on working days between from
// and to, in order.
func (g *gen) workTimes(n int, from, to time.Time) []time.Time {
	var out []time.Time
	span := int(to.Sub(from).Hours()/24) + 1
	for len(out) < n {
		day := from.Truncate(24*time.Hour).AddDate(0, 0, g.x.intn(span))
		if wd := day.Weekday(); wd == time.Saturday || wd == time.Sunday {
			continue
		}
		t := day.Add(8*time.Hour + g.x.dur(0, 11*time.Hour)).Truncate(time.Second)
		if t.Before(from) || t.After(to) {
			continue
		}
		out = append(out, t)
	}
	slices.SortFunc(out, time.Time.Compare)
	return out
}

// ip is a person's stable address on the office VPN.
func ip(net, who string) string {
	h := sha256.Sum256([]byte(who))
	return fmt.Sprintf("%s.%d.%d", net, h[0]%16, 10+h[1]%200)
}

func (g *gen) access() []AccessUpload {
	now, term := g.o.Now, g.terminatedAt()
	from, to := now.AddDate(0, 0, -88), now.Add(-time.Hour)
	var evs []*accessEv
	add := func(e *accessEv) { evs = append(evs, e) }

	// prod-db.
	db := func(who string, at time.Time) *accessEv {
		role := "readonly"
		if g.x.chance(0.3) {
			role = "readwrite"
		}
		return &accessEv{system: SystemDB, at: at, principal: who, result: "success", role: role, action: "connect", ip: ip("10.8", who)}
	}
	for _, at := range g.workTimes(90, from, to) {
		e := db(g.x.pick([]string{"alice", "bob", "carol", "heidi"}), at)
		if g.x.chance(0.04) {
			e.result = "failure" // a mistyped password: still an access event
		}
		add(e)
	}
	for _, at := range g.workTimes(4, term.AddDate(0, 0, -40), term.Add(-2*time.Hour)) {
		add(db(Mallory, at))
	}
	for _, d := range []time.Duration{2*24*time.Hour + 3*time.Hour, 9*24*time.Hour - 2*time.Hour} {
		add(db(Mallory, term.Add(d)))
	}
	ts := g.workTimes(7, from.AddDate(0, 0, 10), to)
	add(db("grace", ts[0]))
	add(db("grace", ts[1]))
	add(db(AliceAlt, ts[2]))
	add(db(AliceAlt, ts[3]))
	for i, bg := range []struct{ who, ticket string }{
		{"heidi", fmt.Sprintf("INC-%d", 4000+g.x.intn(900))},
		{"bob", ""},
		{"carol", "urgent, see #ops-incident"}, // a justification, but no ticket key
	} {
		e := db(bg.who, ts[4+i])
		e.role, e.ticket = RoleDBBreakGlass, bg.ticket
		add(e)
	}

	// staging-db: not in scope.
	for _, at := range g.workTimes(6, from, to) {
		e := db(g.x.pick([]string{"grace", "ivan", "erin", "judy"}), at)
		e.system = SystemStagingDB
		add(e)
	}

	// prod-k8s.
	pods := map[string]string{"payments": "payments-api-7c9d5b8f4-", "ledger": "ledger-5f6b7c9d8-"}
	pod := func(ns string) string { return pods[ns] + fixture.SHA(fmt.Sprint("pod", g.x.next()))[:5] }
	k8sN := 0
	k8s := func(who string, at time.Time, op k8sOp) *accessEv {
		groups := []string{"sre", "system:authenticated"}
		if who == "ivan" {
			groups = []string{"developers", "system:authenticated"}
		}
		k8sN++
		return &accessEv{system: SystemK8s, at: at, principal: who, result: "success", groups: groups, op: op, ip: ip("10.8", who),
			id: fixture.DeliveryID(fmt.Sprintf("demoorg/%d/k8s/%d", g.o.Seed, k8sN))}
	}
	humanOp := func() k8sOp {
		ns := g.x.pick([]string{"payments", "payments", "ledger"})
		switch x := g.x.intn(10); {
		case x < 3:
			return k8sOp{verb: "list", resource: "pods", group: ns, query: "limit=500", code: 200}
		case x < 6:
			return k8sOp{verb: "get", resource: "pods", group: ns, name: pod(ns), sub: "log", query: "container=app&tailLines=200", code: 200}
		case x < 8:
			return k8sOp{verb: "create", resource: "pods", group: ns, name: pod(ns), sub: "exec",
				query: "command=sh&container=app&stdin=true&stdout=true&tty=true", code: 101}
		case x < 9:
			return k8sOp{verb: "delete", resource: "pods", group: ns, name: pod(ns), code: 200}
		default:
			return k8sOp{verb: "get", resource: "secrets", group: ns, name: ns + "-db", code: 200}
		}
	}
	var k8sAll []*accessEv
	for _, at := range g.workTimes(70, from, to) {
		e := k8s(g.x.pick([]string{"alice", "dave", "erin", "frank"}), at, humanOp())
		k8sAll = append(k8sAll, e)
		add(e)
	}
	for _, at := range g.workTimes(20, from, to) {
		svc := g.x.pick([]string{"payments-api", "payments-web", "ledger"})
		ns := map[string]string{"ledger": "ledger"}[svc]
		if ns == "" {
			ns = "payments"
		}
		e := k8s(K8sDeployer, at, k8sOp{verb: "patch", resource: "deployments", group: ns, name: svc, query: "fieldManager=helm", code: 200})
		e.groups = []string{"system:serviceaccounts", "system:serviceaccounts:ci", "system:authenticated"}
		e.ip = "10.12.0.7"
		add(e)
	}
	ts = g.workTimes(5, from.AddDate(0, 0, 10), to)
	add(k8s("ivan", ts[0], k8sOp{verb: "create", resource: "pods", group: "payments", name: pod("payments"), sub: "exec",
		query: "command=sh&container=app&stdin=true&stdout=true&tty=true", code: 101}))
	add(k8s("ivan", ts[1], k8sOp{verb: "get", resource: "secrets", group: "payments", name: "payments-db", code: 200}))
	add(k8s(AliceAlt, ts[2], k8sOp{verb: "list", resource: "pods", group: "ledger", query: "limit=500", code: 200}))
	for i, bg := range []struct{ who, ticket string }{
		{"frank", fmt.Sprintf("INC-%d", 4000+g.x.intn(900))},
		{"erin", ""},
	} {
		e := k8s(bg.who, ts[3+i], k8sOp{verb: "create", resource: "pods", group: "ledger", name: pod("ledger"), sub: "exec",
			query: "command=psql&container=app&stdin=true&stdout=true&tty=true", code: 101})
		e.groups = []string{"sre", RoleK8sBreakGlass, "system:authenticated"}
		e.role, e.ticket = RoleK8sBreakGlass, bg.ticket
		add(e)
	}
	// RequestReceived copies of a few events: the first stage of the same
	// request, logged before it completes.
	for i := range 4 {
		src := k8sAll[(i*17+3)%len(k8sAll)]
		cp := *src
		cp.received = true
		add(&cp)
	}

	// bastion.
	ssh := func(who string, at time.Time) *accessEv {
		return &accessEv{system: SystemBastion, at: at, principal: who, result: "success", ip: ip("10.8", who)}
	}
	for _, at := range g.workTimes(60, from, to) {
		add(ssh(g.x.pick([]string{"alice", "bob", "frank", "ivan"}), at))
	}
	for _, at := range g.workTimes(3, term.AddDate(0, 0, -40), term.Add(-2*time.Hour)) {
		add(ssh(Mallory, at))
	}
	add(ssh(Mallory, term.Add(5*24*time.Hour-6*time.Hour)))
	ts = g.workTimes(5, from.AddDate(0, 0, 10), to)
	add(ssh(AliceAlt, ts[0]))
	add(ssh(AliceAlt, ts[1]))
	add(ssh("carol", ts[2]))
	failed := ssh("bob", ts[3])
	failed.result = "failure"
	add(failed)
	add(ssh("bob", ts[3].Add(40*time.Second))) // and then the right password
	scan := ssh("admin", ts[4])
	scan.result, scan.invalid, scan.ip = "failure", true, "203.0.113.57"
	add(scan)

	g.formatEvents(from, to, add)
	return g.renderAccess(evs)
}

// renderAccess orders each system's events, writes their lines (with the
// noise lines around sshd logins) and records their expectations.
func (g *gen) renderAccess(evs []*accessEv) []AccessUpload {
	slices.SortStableFunc(evs, func(a, b *accessEv) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		// A RequestReceived stage is logged before its ResponseComplete.
		switch {
		case a.received && !b.received:
			return -1
		case b.received && !a.received:
			return 1
		}
		return 0
	})
	order := []struct{ system, format string }{
		{SystemDB, FormatGeneric}, {SystemK8s, FormatK8sAudit}, {SystemBastion, FormatSSHD}, {SystemStagingDB, FormatGeneric},
		{SystemAWS, FormatCloudTrail}, {SystemOkta, FormatOkta}, {SystemTeleport, FormatTeleport}, {SystemGCP, FormatGCPAudit},
		{SystemJump, FormatJournald},
	}
	g.ops.skipped = map[string]int{}
	var ups []AccessUpload
	for _, o := range order {
		var body []byte
		for _, e := range evs {
			if e.system != o.system {
				continue
			}
			var lines [][]byte
			switch o.format {
			case FormatGeneric:
				lines = [][]byte{g.genericLine(e)}
			case FormatK8sAudit:
				lines = [][]byte{g.k8sLine(e)}
				if e.received {
					g.ops.skipped[o.system]++
				}
			case FormatSSHD:
				lines = g.sshdLines(e)
				g.ops.skipped[o.system] += len(lines) - 1
			case FormatCloudTrail:
				// One log file: the records joined into {"Records":[...]}.
				if len(body) == 0 {
					body = []byte(`{"Records":[`)
				} else {
					body = append(body, ',')
				}
				body = append(body, g.cloudTrailRecord(e)...)
			case FormatOkta:
				lines = [][]byte{g.oktaLine(e)}
			case FormatTeleport:
				lines = [][]byte{g.teleportLine(e)}
			case FormatGCPAudit:
				lines = [][]byte{g.gcpLine(e)}
			case FormatJournald:
				lines = [][]byte{g.journalLine(e)}
			}
			if e.received && o.format != FormatK8sAudit {
				g.ops.skipped[o.system]++
			}
			for _, l := range lines {
				body = append(append(body, l...), '\n')
			}
			if !e.received {
				g.expectAccess(e)
			}
		}
		if o.format == FormatCloudTrail && len(body) > 0 {
			body = append(body, "]}\n"...)
		}
		ups = append(ups, AccessUpload{Format: o.format, System: o.system, Body: body})
	}
	return ups
}

type genericLine struct {
	ID        string `json:"id"`
	Time      string `json:"time"`
	Principal string `json:"principal"`
	System    string `json:"system"`
	Action    string `json:"action"`
	Result    string `json:"result"`
	Role      string `json:"role,omitempty"`
	Ticket    string `json:"ticket,omitempty"`
	SourceIP  string `json:"source_ip,omitempty"`
	Source    string `json:"source,omitempty"`
}

func (g *gen) genericLine(e *accessEv) []byte {
	e.id = "pg-" + g.sha("access", e.system, e.principal, e.at.Unix(), g.x.next())[:16]
	b, err := json.Marshal(genericLine{ID: e.id, Time: rfc3339(e.at), Principal: e.principal, System: e.system,
		Action: e.action, Result: e.result, Role: e.role, Ticket: e.ticket, SourceIP: e.ip, Source: "pgaudit"})
	if err != nil {
		panic(err)
	}
	return b
}

// k8s audit shapes (k8s.io/apiserver/pkg/apis/audit/v1), fields in the
// order the API server writes them.
type k8sEvent struct {
	Kind                     string            `json:"kind"`
	APIVersion               string            `json:"apiVersion"`
	Level                    string            `json:"level"`
	AuditID                  string            `json:"auditID"`
	Stage                    string            `json:"stage"`
	RequestURI               string            `json:"requestURI"`
	Verb                     string            `json:"verb"`
	User                     k8sUser           `json:"user"`
	SourceIPs                []string          `json:"sourceIPs"`
	UserAgent                string            `json:"userAgent"`
	ObjectRef                k8sObjectRef      `json:"objectRef"`
	ResponseStatus           *k8sStatus        `json:"responseStatus,omitempty"`
	RequestReceivedTimestamp string            `json:"requestReceivedTimestamp"`
	StageTimestamp           string            `json:"stageTimestamp"`
	Annotations              map[string]string `json:"annotations,omitempty"`
}

type k8sUser struct {
	Username string   `json:"username"`
	Groups   []string `json:"groups"`
}

type k8sObjectRef struct {
	Resource    string `json:"resource"`
	Namespace   string `json:"namespace"`
	Name        string `json:"name,omitempty"`
	APIGroup    string `json:"apiGroup,omitempty"`
	APIVersion  string `json:"apiVersion"`
	Subresource string `json:"subresource,omitempty"`
}

type k8sStatus struct {
	Metadata struct{} `json:"metadata"`
	Code     int      `json:"code"`
}

func micro(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z") }

func (g *gen) k8sLine(e *accessEv) []byte {
	op := e.op
	ref := k8sObjectRef{Resource: op.resource, Namespace: op.group, Name: op.name, APIVersion: "v1", Subresource: op.sub}
	path := "/api/v1/namespaces/" + op.group + "/" + op.resource
	if op.resource == "deployments" {
		ref.APIGroup = "apps"
		path = "/apis/apps/v1/namespaces/" + op.group + "/" + op.resource
	}
	if op.name != "" {
		path += "/" + op.name
	}
	if op.sub != "" {
		path += "/" + op.sub
	}
	if op.query != "" {
		path += "?" + op.query
	}
	received := e.at.Add(time.Duration(e.at.Unix()%997) * time.Microsecond)
	ev := k8sEvent{Kind: "Event", APIVersion: "audit.k8s.io/v1", Level: "Metadata", AuditID: e.id, Stage: "ResponseComplete",
		RequestURI: path, Verb: op.verb, User: k8sUser{Username: e.principal, Groups: e.groups}, SourceIPs: []string{e.ip},
		UserAgent: "kubectl/v1.29.3 (linux/amd64) kubernetes/6813625", ObjectRef: ref,
		RequestReceivedTimestamp: micro(received), StageTimestamp: micro(received.Add(38*time.Millisecond + time.Duration(e.at.Unix()%50)*time.Millisecond))}
	if e.principal == K8sDeployer {
		ev.UserAgent = "Helm/3.14.2"
	}
	if e.received {
		ev.Stage, ev.StageTimestamp = "RequestReceived", ev.RequestReceivedTimestamp
	} else {
		ev.ResponseStatus = &k8sStatus{Code: op.code}
		reason := `RBAC: allowed by ClusterRoleBinding "sre-edit" of ClusterRole "edit" to Group "sre"`
		switch {
		case e.role == RoleK8sBreakGlass:
			reason = `RBAC: allowed by ClusterRoleBinding "break-glass" of ClusterRole "cluster-admin" to Group "break-glass"`
		case e.principal == K8sDeployer:
			reason = `RBAC: allowed by RoleBinding "deployer/` + op.group + `" of Role "deployer" to ServiceAccount "deployer/ci"`
		case slices.Contains(e.groups, "developers"):
			reason = `RBAC: allowed by ClusterRoleBinding "developers-edit" of ClusterRole "edit" to Group "developers"`
		}
		ev.Annotations = map[string]string{"authorization.k8s.io/decision": "allow", "authorization.k8s.io/reason": reason}
		if e.ticket != "" {
			ev.Annotations[K8sTicketAnnotation] = e.ticket
		}
	}
	b, err := json.Marshal(ev)
	if err != nil {
		panic(err)
	}
	return b
}

func base64Std(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// keyFingerprint is a person's stable SSH key fingerprint.
func keyFingerprint(who string) string {
	h := sha256.Sum256([]byte("ssh key " + who))
	return strings.TrimRight(base64Std(h[:]), "=")
}

// syslog formats a BSD syslog timestamp: "Mar  2 10:15:03".
func syslog(t time.Time) string { return t.UTC().Format("Jan _2 15:04:05") }

// sshdLines returns the login line first, then the noise around it.
func (g *gen) sshdLines(e *accessEv) [][]byte {
	pid := 10000 + g.x.intn(50000)
	port := 40000 + g.x.intn(25000)
	head := func(t time.Time, p int) string { return fmt.Sprintf("%s bastion sshd[%d]: ", syslog(t), p) }
	var login string
	switch {
	case e.result == "success":
		kind := "ED25519"
		if e.principal == "bob" || e.principal == Mallory {
			kind = "RSA"
		}
		login = fmt.Sprintf("Accepted publickey for %s from %s port %d ssh2: %s SHA256:%s", e.principal, e.ip, port, kind, keyFingerprint(e.principal))
	case e.invalid:
		login = fmt.Sprintf("Failed password for invalid user %s from %s port %d ssh2", e.principal, e.ip, port)
	default:
		login = fmt.Sprintf("Failed password for %s from %s port %d ssh2", e.principal, e.ip, port)
	}
	line := head(e.at, pid) + login
	sum := sha256.Sum256([]byte(e.system + "\n" + line))
	e.id = hex.EncodeToString(sum[:])
	lines := []string{line}
	if e.result == "success" {
		uid := 1000 + int(keyFingerprint(e.principal)[0])%60
		end := e.at.Add(g.x.dur(2*time.Minute, 90*time.Minute))
		lines = append(lines,
			head(e.at, pid)+fmt.Sprintf("pam_unix(sshd:session): session opened for user %s(uid=%d) by (uid=0)", e.principal, uid),
			head(end, pid)+fmt.Sprintf("Received disconnect from %s port %d:11: disconnected by user", e.ip, port),
			head(end, pid)+fmt.Sprintf("Disconnected from user %s %s port %d", e.principal, e.ip, port),
			head(end, pid)+fmt.Sprintf("pam_unix(sshd:session): session closed for user %s", e.principal))
	} else {
		lines = append(lines, head(e.at.Add(2*time.Second), pid)+fmt.Sprintf("Connection closed by %s port %d [preauth]", e.ip, port))
	}
	out := make([][]byte, len(lines))
	for i, l := range lines {
		out[i] = []byte(l)
	}
	return out
}

// expectAccess records an event's categories and AC outcomes.
func (g *gen) expectAccess(e *accessEv) {
	subj := e.system + ":" + e.id
	sys, ok := systems[e.system]
	if !ok {
		sys, ok = formatSystems[e.system]
	}
	if !ok {
		g.add(CatAccessOutOfScope, subj)
		return
	}
	who := person(e.principal)
	if e.principal == AliceAlt {
		g.add(CatAccessAlias, subj)
	}
	if e.result != "success" {
		g.add(CatAccessFailedAttempt, subj)
	}
	if slices.Contains(sys.BreakGlassRoles, e.role) {
		g.expect("AC-1", subj, model.NotApplicable)
		if defaultTicket.MatchString(e.ticket) {
			g.add(CatBreakGlassTicket, subj)
			g.expect("AC-2", subj, model.Pass)
		} else {
			g.add(CatBreakGlassNoTicket, subj)
			g.expect("AC-2", subj, model.Fail)
		}
	} else if slices.ContainsFunc(sys.Authorized, func(a string) bool {
		ok, _ := path.Match(a, who) // the glob patterns here have no "/" after "*"
		return a == who || ok
	}) {
		g.add(CatAccessAuthorized, subj)
		g.expect("AC-1", subj, model.Pass)
	} else {
		g.add(CatAccessUnauthorized, subj)
		g.expect("AC-1", subj, model.Fail)
	}
	if who == Mallory {
		g.terminated(subj, e.at, g.terminatedAt())
	}
}
