package access

import (
	"encoding/json"
	"errors"
	"github.com/changeproof/changeproof/ingest/ndjson"
	"net/url"
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
	k8sAPIVersion = "audit.k8s.io/v1"

	// AnnotationDecision is the authorizer's decision, "allow" or "forbid".
	AnnotationDecision = "authorization.k8s.io/decision"
	// AnnotationTicket carries the ticket or justification of a request.
	AnnotationTicket = "changeproof.io/ticket"
)

func parseK8sAudit(line []byte, o Options, now time.Time) (model.AccessEvent, error) {
	var e k8sEvent
	if err := json.Unmarshal(line, &e); err != nil {
		var te *json.UnmarshalTypeError
		var se *json.SyntaxError
		switch {
		case errors.As(err, &te) && te.Field == "":
			return model.AccessEvent{}, errors.New("not a JSON object, got " + te.Value)
		case errors.As(err, &te):
			return model.AccessEvent{}, errors.New(ndjson.TypeError(te))
		case errors.As(err, &se):
			return model.AccessEvent{}, errors.New("not JSON: " + se.Error())
		default:
			return model.AccessEvent{}, errors.New("not JSON: " + strings.TrimPrefix(err.Error(), "json: "))
		}
	}
	var p ndjson.Problems
	if e.Kind != k8sKind {
		p.Add("kind: must be %q, got %s", k8sKind, ndjson.Quote(e.Kind))
	}
	if e.APIVersion != k8sAPIVersion {
		p.Add("apiVersion: must be %q, got %s", k8sAPIVersion, ndjson.Quote(e.APIVersion))
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
		Action:    k8sAction(&e),
		Result:    "success",
		Role:      k8sRole(&e, o.BreakGlassRoles),
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
	ev.Raw = string(line)
	ev.ReceivedAt = now.UTC()
	return ev, nil
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
