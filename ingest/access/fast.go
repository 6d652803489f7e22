package access

import (
	"encoding/json"

	"github.com/changeproof/changeproof/internal/jsonscan"
)

// decodeFast fills v from rec with read, a jsonscan reader of the few fields
// a format needs; a record jsonscan does not vouch for (invalid JSON, or
// JSON whose meaning encoding/json defines on its own terms, such as a key
// differing from a wanted one only in case) is decoded by encoding/json, so
// the result, and the error of a bad record, are always encoding/json's.
// Records are 1-2 KB of which a few hundred bytes are read; encoding/json
// was most of the cost of every JSON format.
func decodeFast[T any](rec []byte, v *T, read func(*jsonscan.Reader, *T)) error {
	r := jsonscan.New(rec)
	read(r, v)
	r.End()
	if !r.Failed() {
		return nil
	}
	var zero T
	*v = zero
	return decodeRecord(rec, v)
}

// str reads a string into *s (null reads as "").
func str(r *jsonscan.Reader, s *string) { *s, _ = r.String() }

// stringList reads an array of strings (null reads as nil).
func stringList(r *jsonscan.Reader) []string {
	var out []string
	r.Array(func() {
		s, _ := r.String()
		out = append(out, s)
	})
	return out
}

var (
	ctKeys        = []string{"eventID", "eventTime", "eventSource", "eventName", "awsRegion", "sourceIPAddress", "errorCode", "userIdentity", "requestParameters", "responseElements"}
	ctIdentKeys   = []string{"type", "arn", "principalId", "userName", "sessionContext"}
	ctSessionKeys = []string{"sessionIssuer"}
	arnKeys       = []string{"arn"}
	roleArnKeys   = []string{"roleArn"}
	consoleKeys   = []string{"ConsoleLogin"}
)

func readCloudTrail(r *jsonscan.Reader, c *ctRecord) {
	r.Object(ctKeys, func(k int) {
		switch k {
		case 0:
			str(r, &c.EventID)
		case 1:
			str(r, &c.EventTime)
		case 2:
			str(r, &c.EventSource)
		case 3:
			str(r, &c.EventName)
		case 4:
			str(r, &c.AWSRegion)
		case 5:
			str(r, &c.SourceIP)
		case 6:
			str(r, &c.ErrorCode)
		case 7:
			u := &c.UserIdentity
			r.Object(ctIdentKeys, func(k int) {
				switch k {
				case 0:
					str(r, &u.Type)
				case 1:
					str(r, &u.ARN)
				case 2:
					str(r, &u.PrincipalID)
				case 3:
					str(r, &u.UserName)
				case 4:
					r.Object(ctSessionKeys, func(int) {
						r.Object(arnKeys, func(int) { str(r, &u.SessionContext.SessionIssuer.ARN) })
					})
				}
			})
		case 8:
			r.Object(roleArnKeys, func(int) { str(r, &c.RequestParameters.RoleARN) })
		case 9:
			r.Object(consoleKeys, func(int) { str(r, &c.ResponseElements.ConsoleLogin) })
		}
	})
}

var (
	oktaKeys    = []string{"uuid", "published", "eventType", "actor", "client", "outcome", "target"}
	altIDKeys   = []string{"alternateId"}
	ipAddrKeys  = []string{"ipAddress"}
	outcomeKeys = []string{"result", "reason"}
	targetKeys  = []string{"type", "displayName"}
)

func readOkta(r *jsonscan.Reader, e *oktaEvent) {
	r.Object(oktaKeys, func(k int) {
		switch k {
		case 0:
			str(r, &e.UUID)
		case 1:
			str(r, &e.Published)
		case 2:
			str(r, &e.EventType)
		case 3:
			r.Object(altIDKeys, func(int) { str(r, &e.Actor.AlternateID) })
		case 4:
			r.Object(ipAddrKeys, func(int) { str(r, &e.Client.IPAddress) })
		case 5:
			r.Object(outcomeKeys, func(k int) {
				if k == 0 {
					str(r, &e.Outcome.Result)
				} else {
					str(r, &e.Outcome.Reason)
				}
			})
		case 6:
			r.Array(func() {
				var t struct{ Type, DisplayName string }
				r.Object(targetKeys, func(k int) {
					if k == 0 {
						str(r, &t.Type)
					} else {
						str(r, &t.DisplayName)
					}
				})
				e.Target = append(e.Target, struct {
					Type        string `json:"type"`
					DisplayName string `json:"displayName"`
				}{t.Type, t.DisplayName})
			})
		}
	})
}

var (
	k8sKeys       = []string{"kind", "apiVersion", "auditID", "stage", "requestURI", "verb", "user", "impersonatedUser", "sourceIPs", "objectRef", "responseStatus", "requestReceivedTimestamp", "annotations", "items", "insertId", "timestamp", "labels", "protoPayload", "properties"}
	k8sUserKeys   = []string{"username", "groups"}
	k8sRefKeys    = []string{"resource", "namespace", "name", "subresource"}
	k8sStatusKeys = []string{"code"}
	k8sAnnKeys    = []string{AnnotationDecision, AnnotationTicket}
)

// readK8s reads an Event, an EventList (its items raw), a GKE LogEntry or
// an AKS record (properties.log raw).
func readK8s(r *jsonscan.Reader, e *k8sEvent) {
	user := func(u *k8sUser) {
		r.Object(k8sUserKeys, func(k int) {
			if k == 0 {
				str(r, &u.Username)
			} else {
				u.Groups = stringList(r)
			}
		})
	}
	r.Object(k8sKeys, func(k int) {
		switch k {
		case 0:
			str(r, &e.Kind)
		case 1:
			str(r, &e.APIVersion)
		case 2:
			str(r, &e.AuditID)
		case 3:
			str(r, &e.Stage)
		case 4:
			str(r, &e.RequestURI)
		case 5:
			str(r, &e.Verb)
		case 6:
			user(&e.User)
		case 7:
			var u k8sUser
			if r.Object(k8sUserKeys, func(k int) {
				if k == 0 {
					str(r, &u.Username)
				} else {
					u.Groups = stringList(r)
				}
			}) {
				e.ImpersonatedUser = &u
			}
		case 8:
			e.SourceIPs = stringList(r)
		case 9:
			var ref k8sObjectRef
			if r.Object(k8sRefKeys, func(k int) {
				str(r, [...]*string{&ref.Resource, &ref.Namespace, &ref.Name, &ref.Subresource}[k])
			}) {
				e.ObjectRef = &ref
			}
		case 10:
			var st k8sStatus
			if r.Object(k8sStatusKeys, func(int) { st.Code = int(r.Int()) }) {
				e.ResponseStatus = &st
			}
		case 11:
			str(r, &e.RequestReceivedTimestamp)
		case 12:
			r.Object(k8sAnnKeys, func(k int) {
				if e.Annotations == nil {
					e.Annotations = map[string]string{}
				}
				s, _ := r.String()
				e.Annotations[k8sAnnKeys[k]] = s
			})
		case 13: // an EventList
			r.Array(func() { e.Items = append(e.Items, append([]byte(nil), r.Raw()...)) })
		case 14:
			str(r, &e.InsertID)
		case 15:
			str(r, &e.Timestamp)
		case 16:
			r.Object(k8sAnnKeys[:1], func(int) {
				s, _ := r.String()
				e.Labels = map[string]string{AnnotationDecision: s}
			})
		case 17: // GKE
			if pp, ok := readGCPProto(r); ok {
				e.ProtoPayload = pp
			}
		case 18: // AKS
			var log json.RawMessage
			if r.Object(aksKeys, func(int) { log = append([]byte(nil), r.Raw()...) }) {
				e.Properties = &struct {
					Log json.RawMessage `json:"log"`
				}{log}
			}
		}
	})
}

var aksKeys = []string{"log"}

var (
	teleportKeys = []string{"event", "uid", "time", "user", "login", "success", "error", "response_code", "addr.remote",
		"server_hostname", "server_id", "db_service", "app_name", "kubernetes_cluster", "verb", "request_path", "command", "roles", "reason",
		"id", "access_requests"}
)

func readTeleport(r *jsonscan.Reader, e *teleportEvent) {
	r.Object(teleportKeys, func(k int) {
		switch k {
		case 5:
			switch string(r.Raw()) {
			case "true":
				b := true
				e.Success = &b
			case "false":
				b := false
				e.Success = &b
			case "null":
			default:
				r.Fail()
			}
		case 7:
			e.ResponseCode = int(r.Int())
		case 17:
			e.Roles = stringList(r)
		case 20:
			e.AccessRequests = stringList(r)
		default:
			fields := [...]*string{&e.Event, &e.UID, &e.Time, &e.User, &e.Login, nil, &e.Error, nil, &e.AddrRemote,
				&e.ServerHostname, &e.ServerID, &e.DBService, &e.AppName, &e.KubeCluster, &e.Verb, &e.RequestPath, &e.Command, nil, &e.Reason, &e.ID}
			str(r, fields[k])
		}
	})
}

var gcpKeys = []string{"insertId", "logName", "timestamp", "protoPayload", "resource"}
var gcpProtoKeys = []string{"@type", "serviceName", "methodName", "resourceName", "authenticationInfo", "requestMetadata", "status"}
var gcpAuthKeys = []string{"principalEmail", "principalSubject"}
var gcpMetaKeys = []string{"callerIp"}
var gcpTypeKeys = []string{"type"}

func readGCP(r *jsonscan.Reader, e *gcpEntry) {
	r.Object(gcpKeys, func(k int) {
		switch k {
		case 0:
			str(r, &e.InsertID)
		case 1:
			str(r, &e.LogName)
		case 2:
			str(r, &e.Timestamp)
		case 3:
			if pp, ok := readGCPProto(r); ok {
				e.ProtoPayload = pp
			}
		case 4:
			r.Object(gcpTypeKeys, func(int) { str(r, &e.Resource.Type) })
		}
	})
}

// readGCPProto reads an AuditLog protoPayload, of a Cloud Audit Logs
// entry (gcp-audit) or of GKE's audit log of the Kubernetes API
// (k8s-audit): one shape, one reader. ok is false when the value is not an
// object.
func readGCPProto(r *jsonscan.Reader) (*gcpProto, bool) {
	pp := &gcpProto{}
	ok := r.Object(gcpProtoKeys, func(k int) {
		switch k {
		case 4:
			r.Object(gcpAuthKeys, func(k int) {
				str(r, [...]*string{&pp.AuthenticationInfo.PrincipalEmail, &pp.AuthenticationInfo.PrincipalSubject}[k])
			})
		case 5:
			r.Object(gcpMetaKeys, func(int) { str(r, &pp.RequestMetadata.CallerIP) })
		case 6:
			var code int
			if r.Object(k8sStatusKeys, func(int) { code = int(r.Int()) }) {
				pp.Status = &struct {
					Code int `json:"code"`
				}{code}
			}
		default:
			str(r, [...]*string{&pp.Type, &pp.ServiceName, &pp.MethodName, &pp.ResourceName}[k])
		}
	})
	return pp, ok
}

var journalKeys = []string{"MESSAGE", "SYSLOG_IDENTIFIER", "_HOSTNAME", "__REALTIME_TIMESTAMP"}

func readJournal(r *jsonscan.Reader, e *journalEntry) {
	r.Object(journalKeys, func(k int) {
		switch k {
		case 0:
			e.Message = append([]byte(nil), r.Raw()...)
		case 1:
			e.Identifier = append([]byte(nil), r.Raw()...)
		case 2:
			str(r, &e.Hostname)
		case 3:
			str(r, &e.Realtime)
		}
	})
}
