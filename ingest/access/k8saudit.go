package access

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"

	"github.com/changeproof/changeproof/ingest/ndjson"
	"slices"
	"strings"
	"time"

	"github.com/changeproof/changeproof/model"
)

// The audit.k8s.io/v1 Event fields this package reads
// (k8s.io/apiserver/pkg/apis/audit/v1 types.go); the rest are ignored.
type k8sEvent struct {
	Kind                     string            `json:"kind"`
	APIVersion               string            `json:"apiVersion"`
	AuditID                  string            `json:"auditID"`
	Stage                    string            `json:"stage"`
	RequestURI               string            `json:"requestURI"`
	Verb                     string            `json:"verb"`
	User                     k8sUser           `json:"user"`
	ImpersonatedUser         *k8sUser          `json:"impersonatedUser"`
	SourceIPs                []string          `json:"sourceIPs"`
	ObjectRef                *k8sObjectRef     `json:"objectRef"`
	ResponseStatus           *k8sStatus        `json:"responseStatus"`
	RequestReceivedTimestamp string            `json:"requestReceivedTimestamp"`
	Annotations              map[string]string `json:"annotations"`

	// An EventList (the webhook backend's body): its events.
	Items []json.RawMessage `json:"items"`
	// A GKE Cloud Audit LogEntry for k8s.io.
	InsertID     string            `json:"insertId"`
	Timestamp    string            `json:"timestamp"`
	Labels       map[string]string `json:"labels"`
	ProtoPayload *gcpProto         `json:"protoPayload"` // the AuditLog payload, as gcp-audit reads it
	// An AKS diagnostic record: the Event in properties.log, as an object
	// or as a JSON string.
	Properties *struct {
		Log json.RawMessage `json:"log"`
	} `json:"properties"`
}

type k8sUser struct {
	Username string   `json:"username"`
	Groups   []string `json:"groups"`
}

type k8sObjectRef struct {
	Resource    string `json:"resource"`
	Namespace   string `json:"namespace"`
	Name        string `json:"name"`
	Subresource string `json:"subresource"`
}

type k8sStatus struct {
	Code int `json:"code"`
}

// Kubernetes audit constants.
const (
	k8sKind       = "Event"
	k8sListKind   = "EventList"
	k8sAPIVersion = "audit.k8s.io/v1"
	k8sV1beta1    = "audit.k8s.io/v1beta1"

	// AnnotationDecision is the authorizer's decision, "allow" or "forbid".
	AnnotationDecision = "authorization.k8s.io/decision"
	// AnnotationTicket carries the ticket or justification of a request.
	AnnotationTicket = "changeproof.io/ticket"
)

func parseK8sAudit(line []byte, o Options, now time.Time) ([]model.AccessEvent, error) {
	if t := bytes.TrimSpace(line); len(t) > 0 && t[0] == '[' {
		return parseRecords(line, o, now, "", parseK8sRecord)
	}
	var e k8sEvent
	if err := decodeFast(line, &e, readK8s); err != nil {
		return nil, err
	}
	if e.Kind == k8sListKind {
		if e.APIVersion != k8sAPIVersion && e.APIVersion != k8sV1beta1 {
			return nil, fmt.Errorf("apiVersion: must be %q or %q, got %s", k8sAPIVersion, k8sV1beta1, ndjson.Quote(e.APIVersion))
		}
		evs := make([]model.AccessEvent, 0, len(e.Items))
		var p ndjson.Problems
		for i, item := range e.Items {
			ev, err := parseK8sRecord(item, o, now)
			switch {
			case err == errSkip:
				evs = append(evs, model.AccessEvent{}) // counted as skipped
			case err != nil:
				p.Add("items[%d]: %v", i, err)
			default:
				evs = append(evs, ev)
			}
		}
		return evs, p.Err()
	}
	ev, err := k8sRecord(&e, line, o, now)
	if err != nil {
		return nil, err
	}
	return []model.AccessEvent{ev}, nil
}

// parseK8sRecord reads one Event, GKE LogEntry or AKS record.
func parseK8sRecord(rec []byte, o Options, now time.Time) (model.AccessEvent, error) {
	var e k8sEvent
	if err := decodeFast(rec, &e, readK8s); err != nil {
		return model.AccessEvent{}, err
	}
	return k8sRecord(&e, rec, o, now)
}

// k8sRecord maps a decoded record; raw is the record's bytes.
func k8sRecord(e *k8sEvent, raw []byte, o Options, now time.Time) (model.AccessEvent, error) {
	switch {
	case e.Kind == "" && e.ProtoPayload != nil:
		return gkeRecord(e, raw, o, now)
	case e.Kind == "" && e.Properties != nil && len(e.Properties.Log) > 0:
		inner := []byte(e.Properties.Log)
		if inner[0] == '"' { // AKS writes the Event as a JSON string
			var s string
			if err := json.Unmarshal(inner, &s); err != nil {
				return model.AccessEvent{}, errors.New("properties.log: " + jsonError(err).Error())
			}
			inner = []byte(s)
		}
		var ie k8sEvent
		if err := decodeFast(inner, &ie, readK8s); err != nil {
			return model.AccessEvent{}, errors.New("properties.log: " + err.Error())
		}
		if ie.Kind != k8sKind {
			return model.AccessEvent{}, errSkip // another diagnostic log (guard, autoscaler)
		}
		ev, err := k8sEventRecord(&ie, o, now)
		if err != nil {
			return ev, fmt.Errorf("properties.log: %w", err)
		}
		ev.Raw = string(raw)
		return ev, nil
	}
	ev, err := k8sEventRecord(e, o, now)
	if err != nil {
		return ev, err
	}
	ev.Raw = string(raw)
	return ev, nil
}

func k8sEventRecord(e *k8sEvent, o Options, now time.Time) (model.AccessEvent, error) {
	var p ndjson.Problems
	if e.Kind != k8sKind {
		p.Add("kind: must be %q, got %s", k8sKind, ndjson.Quote(e.Kind))
	}
	if e.APIVersion != k8sAPIVersion && e.APIVersion != k8sV1beta1 {
		p.Add("apiVersion: must be %q or %q, got %s", k8sAPIVersion, k8sV1beta1, ndjson.Quote(e.APIVersion))
	}
	if err := p.Err(); err != nil {
		return model.AccessEvent{}, err // not an audit event: the rest is noise
	}
	switch e.Stage {
	case "ResponseComplete", "Panic":
	case "RequestReceived", "ResponseStarted":
		return model.AccessEvent{}, errSkip
	case "":
		p.Add("stage: required")
	default:
		p.Add("stage: must be RequestReceived, ResponseStarted, ResponseComplete or Panic, got %s", ndjson.Quote(e.Stage))
	}
	if e.AuditID == "" {
		p.Add("auditID: required")
	}
	if e.Verb == "" {
		p.Add("verb: required")
	}
	if e.User.Username == "" {
		p.Add("user.username: required")
	}
	ev := model.AccessEvent{
		ID:        e.AuditID,
		System:    o.System,
		Principal: e.User.Username,
		Action:    k8sAction(e),
		Result:    "success",
		Role:      k8sRole(e, o.BreakGlassRoles),
		Ticket:    e.Annotations[AnnotationTicket],
		Source:    string(K8sAudit),
		Format:    string(K8sAudit),
	}
	if e.RequestReceivedTimestamp == "" {
		p.Add("requestReceivedTimestamp: required")
	} else {
		ev.Time = parseTime("requestReceivedTimestamp", e.RequestReceivedTimestamp, &p)
	}
	if err := p.Err(); err != nil {
		return model.AccessEvent{}, err
	}
	if e.Stage == "Panic" || (e.ResponseStatus != nil && e.ResponseStatus.Code >= 400) ||
		e.Annotations[AnnotationDecision] == "forbid" {
		ev.Result = "failure"
	}
	if len(e.SourceIPs) > 0 {
		ev.SourceIP = e.SourceIPs[0]
	}
	ev.ReceivedAt = now.UTC()
	return ev, nil
}

// gkeRecord maps a GKE Cloud Audit LogEntry of service k8s.io: id insertId,
// time timestamp, principal authenticationInfo.principalEmail, action
// methodName and resourceName, failure on a non-zero status.code or a
// "forbid" decision label.
func gkeRecord(e *k8sEvent, raw []byte, o Options, now time.Time) (model.AccessEvent, error) {
	pp := e.ProtoPayload
	if pp.ServiceName != "k8s.io" {
		return model.AccessEvent{}, errSkip // another service's audit log
	}
	var p ndjson.Problems
	ev := pp.event(e.InsertID, e.Timestamp, o, &p)
	ev.Principal = pp.AuthenticationInfo.PrincipalEmail
	ev.Action = strings.TrimSpace(pp.MethodName + " " + pp.ResourceName)
	ev.Source = string(K8sAudit)
	if e.Labels[AnnotationDecision] == "forbid" {
		ev.Result = "failure"
	}
	return finish(ev, raw, K8sAudit, now, &p)
}

// k8sAction describes the request: verb, resource[/subresource], then
// namespace/name, name (cluster-scoped) or namespace/ (a collection); or
// verb and path for a non-resource request.
func k8sAction(e *k8sEvent) string {
	var b strings.Builder
	b.WriteString(e.Verb)
	if ref := e.ObjectRef; ref != nil && ref.Resource != "" {
		b.WriteString(" " + ref.Resource)
		if ref.Subresource != "" {
			b.WriteString("/" + ref.Subresource)
		}
		switch {
		case ref.Namespace != "" && ref.Name != "":
			b.WriteString(" " + ref.Namespace + "/" + ref.Name)
		case ref.Name != "":
			b.WriteString(" " + ref.Name)
		case ref.Namespace != "":
			b.WriteString(" " + ref.Namespace + "/")
		}
	} else if path := requestPath(e.RequestURI); path != "" {
		b.WriteString(" " + path)
	}
	if imp := e.ImpersonatedUser; imp != nil && imp.Username != "" {
		b.WriteString(" (as " + imp.Username + ")")
	}
	return b.String()
}

// requestPath is the path of a request URI, without its query.
func requestPath(uri string) string {
	if u, err := url.ParseRequestURI(uri); err == nil {
		return u.Path
	}
	path, _, _ := strings.Cut(uri, "?")
	return path
}

// k8sRole is the first break-glass role the request used: the impersonated
// identity's groups and name, then the authenticated user's groups.
func k8sRole(e *k8sEvent, roles []string) string {
	if len(roles) == 0 {
		return ""
	}
	var candidates []string
	if imp := e.ImpersonatedUser; imp != nil {
		candidates = append(candidates, imp.Groups...)
		if imp.Username != "" {
			candidates = append(candidates, imp.Username)
		}
	}
	candidates = append(candidates, e.User.Groups...)
	for _, c := range candidates {
		if slices.Contains(roles, c) {
			return c
		}
	}
	return ""
}
