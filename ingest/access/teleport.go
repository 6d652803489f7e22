package access

import (
	"net"
	"net/netip"
	"time"

	"github.com/changeproof/changeproof/ingest/ndjson"
	"github.com/changeproof/changeproof/model"
)

// The Teleport audit event fields this package reads; the rest are ignored.
type teleportEvent struct {
	Event          string   `json:"event"`
	UID            string   `json:"uid"`
	Time           string   `json:"time"`
	User           string   `json:"user"`
	Login          string   `json:"login"`
	Success        *bool    `json:"success"`
	Error          string   `json:"error"`
	ResponseCode   int      `json:"response_code"`
	AddrRemote     string   `json:"addr.remote"`
	ServerHostname string   `json:"server_hostname"`
	ServerID       string   `json:"server_id"`
	DBService      string   `json:"db_service"`
	AppName        string   `json:"app_name"`
	KubeCluster    string   `json:"kubernetes_cluster"`
	Verb           string   `json:"verb"`
	RequestPath    string   `json:"request_path"`
	Command        string   `json:"command"`
	Roles          []string `json:"roles"`
	Reason         string   `json:"reason"`
	// ID is an access request's id (access_request.* events);
	// AccessRequests the ids of the requests a session runs under.
	ID             string   `json:"id"`
	AccessRequests []string `json:"access_requests"`
}

// teleportRequest is what an access request granted: roles, and the
// requester's reason.
type teleportRequest struct {
	roles  []string
	reason string
}

// maxTeleportRequests bounds the access requests one upload remembers.
const maxTeleportRequests = 100_000

// teleportAccess lists the events that are access to a resource.
var teleportAccess = map[string]bool{
	"user.login": true, "session.start": true, "exec": true,
	"db.session.start": true, "app.session.start": true, "kube.request": true,
}

// parseTeleport maps one Teleport audit event: id uid, time time,
// principal user, action the event and what it reached, failure when
// success is false, error is set or a kube.request answered 400 or more.
// Role and ticket come from the access requests the event ran under, as
// st remembers them from earlier access_request.* events of the upload
// (and from the event's own roles and reason). Other events are skipped.
func parseTeleport(rec []byte, o Options, now time.Time, st *readState) (model.AccessEvent, error) {
	var e teleportEvent
	if err := decodeFast(rec, &e, readTeleport); err != nil {
		return model.AccessEvent{}, err
	}
	var p ndjson.Problems
	if e.Event == "" {
		p.Add("event: required")
		return model.AccessEvent{}, p.Err()
	}
	if st != nil && e.ID != "" && (e.Event == "access_request.create" || e.Event == "access_request.update") {
		if st.teleport == nil {
			st.teleport = map[string]teleportRequest{}
		}
		r, seen := st.teleport[e.ID]
		if seen || len(st.teleport) < maxTeleportRequests {
			if len(e.Roles) > 0 {
				r.roles = e.Roles
			}
			if e.Reason != "" && r.reason == "" {
				r.reason = e.Reason
			}
			st.teleport[e.ID] = r
		}
	}
	if !teleportAccess[e.Event] {
		return model.AccessEvent{}, errSkip
	}
	roles, reason := e.Roles, e.Reason
	if st != nil {
		for _, id := range e.AccessRequests {
			r := st.teleport[id]
			roles = append(append([]string(nil), r.roles...), roles...)
			if reason == "" {
				reason = r.reason
			}
		}
	}
	if e.UID == "" {
		p.Add("uid: required")
	}
	ev := model.AccessEvent{
		ID:        e.UID,
		System:    o.System,
		Time:      timeField("time", e.Time, &p),
		Principal: e.User,
		Action:    e.Event + teleportTarget(&e),
		Result:    "success",
		Role:      breakGlass(roles, o.BreakGlassRoles),
		Ticket:    reason,
		SourceIP:  ipOnly(e.AddrRemote),
		Source:    "teleport",
	}
	if (e.Success != nil && !*e.Success) || e.Error != "" || e.ResponseCode >= 400 {
		ev.Result = "failure"
	}
	return finish(ev, rec, Teleport, now, &p)
}

// teleportTarget names what was accessed, as " login@host", " db", " app",
// " verb path" (kube) or " command" (exec), when the event says.
func teleportTarget(e *teleportEvent) string {
	host := firstNonEmpty(e.ServerHostname, e.ServerID)
	switch {
	case e.Event == "kube.request" && e.Verb != "":
		return " " + e.Verb + " " + firstNonEmpty(e.RequestPath, e.KubeCluster)
	case e.Event == "exec" && e.Command != "":
		return " " + e.Command
	case e.DBService != "":
		return " " + e.DBService
	case e.AppName != "":
		return " " + e.AppName
	case e.Login != "" && host != "":
		return " " + e.Login + "@" + host
	case e.Login != "":
		return " " + e.Login
	}
	return ""
}

// ipOnly returns the address of "ip", "ip:port" or "[ip]:port", or "".
func ipOnly(s string) string {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.String()
	}
	if h, _, err := net.SplitHostPort(s); err == nil {
		if a, err := netip.ParseAddr(h); err == nil {
			return a.String()
		}
	}
	return ""
}
