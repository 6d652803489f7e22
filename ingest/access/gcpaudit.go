package access

import (
	"time"

	"github.com/changeproof/changeproof/ingest/ndjson"
	"github.com/changeproof/changeproof/model"
)

// The Cloud Logging LogEntry fields this package reads, with an AuditLog
// protoPayload; the rest are ignored.
type gcpEntry struct {
	InsertID     string    `json:"insertId"`
	LogName      string    `json:"logName"`
	Timestamp    string    `json:"timestamp"`
	ProtoPayload *gcpProto `json:"protoPayload"`
	Resource     struct {
		Type string `json:"type"`
	} `json:"resource"`
}

// gcpProto is the AuditLog payload.
type gcpProto struct {
	Type               string `json:"@type"`
	ServiceName        string `json:"serviceName"`
	MethodName         string `json:"methodName"`
	ResourceName       string `json:"resourceName"`
	AuthenticationInfo struct {
		PrincipalEmail   string `json:"principalEmail"`
		PrincipalSubject string `json:"principalSubject"`
	} `json:"authenticationInfo"`
	RequestMetadata struct {
		CallerIP string `json:"callerIp"`
	} `json:"requestMetadata"`
	Status *struct {
		Code int `json:"code"`
	} `json:"status"`
}

const gcpAuditLogType = "type.googleapis.com/google.cloud.audit.AuditLog"

// parseGCPAudit maps one LogEntry with an AuditLog payload: id insertId,
// time timestamp, principal authenticationInfo.principalEmail (else
// principalSubject), action "serviceName:methodName resourceName", failure
// on a non-zero status.code, source_ip requestMetadata.callerIp. Entries of
// other logs are skipped.
func parseGCPAudit(rec []byte, o Options, now time.Time) (model.AccessEvent, error) {
	var e gcpEntry
	if err := decodeFast(rec, &e, readGCP); err != nil {
		return model.AccessEvent{}, err
	}
	pp := e.ProtoPayload
	if pp == nil || pp.Type != gcpAuditLogType {
		return model.AccessEvent{}, errSkip // another log's entry
	}
	var p ndjson.Problems
	ev := pp.event(e.InsertID, e.Timestamp, o, &p)
	ev.Principal = firstNonEmpty(pp.AuthenticationInfo.PrincipalEmail, pp.AuthenticationInfo.PrincipalSubject)
	ev.Action = pp.ServiceName + ":" + pp.MethodName
	ev.Source = "gcp-audit"
	if pp.ResourceName != "" {
		ev.Action += " " + pp.ResourceName
	}
	if e.Resource.Type != "" {
		ev.Source = "gcp-audit:" + e.Resource.Type
	}
	return finish(ev, rec, GCPAudit, now, &p)
}

// event maps what every Cloud Audit Logs entry says the same way, for
// gcp-audit and for GKE's k8s-audit: id insertId (required), time
// timestamp, methodName (required), source_ip requestMetadata.callerIp,
// failure on a non-zero status.code. The caller sets Principal, Action and
// Source.
func (pp *gcpProto) event(insertID, timestamp string, o Options, p *ndjson.Problems) model.AccessEvent {
	if insertID == "" {
		p.Add("insertId: required")
	}
	if pp.MethodName == "" {
		p.Add("protoPayload.methodName: required")
	}
	ev := model.AccessEvent{
		ID:       insertID,
		System:   o.System,
		Time:     timeField("timestamp", timestamp, p),
		Result:   "success",
		SourceIP: ipOnly(pp.RequestMetadata.CallerIP),
	}
	if pp.Status != nil && pp.Status.Code != 0 {
		ev.Result = "failure"
	}
	return ev
}
