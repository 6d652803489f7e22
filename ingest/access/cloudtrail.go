package access

import (
	"net/netip"
	"strings"
	"time"

	"github.com/changeproof/changeproof/ingest/ndjson"
	"github.com/changeproof/changeproof/model"
)

// The CloudTrail record fields this package reads (CloudTrail record
// contents, eventVersion 1.0x); the rest are ignored.
type ctRecord struct {
	EventID      string `json:"eventID"`
	EventTime    string `json:"eventTime"`
	EventSource  string `json:"eventSource"`
	EventName    string `json:"eventName"`
	AWSRegion    string `json:"awsRegion"`
	SourceIP     string `json:"sourceIPAddress"`
	ErrorCode    string `json:"errorCode"`
	UserIdentity struct {
		Type           string `json:"type"`
		ARN            string `json:"arn"`
		PrincipalID    string `json:"principalId"`
		UserName       string `json:"userName"`
		SessionContext struct {
			SessionIssuer struct {
				ARN string `json:"arn"`
			} `json:"sessionIssuer"`
		} `json:"sessionContext"`
	} `json:"userIdentity"`
	RequestParameters struct {
		RoleARN string `json:"roleArn"`
	} `json:"requestParameters"`
	ResponseElements struct {
		ConsoleLogin string `json:"ConsoleLogin"`
	} `json:"responseElements"`
}

// ctAccess reports the CloudTrail events that are access: sign-ins, role
// assumption and federation, SSM sessions and EC2 Instance Connect keys.
func ctAccess(source, name string) bool {
	switch {
	case name == "ConsoleLogin", name == "SwitchRole", name == "GetFederationToken",
		strings.HasPrefix(name, "AssumeRole"):
		return true
	case name == "StartSession":
		return source == "ssm.amazonaws.com"
	case name == "SendSSHPublicKey", name == "SendSerialConsoleSSHPublicKey":
		return strings.HasPrefix(source, "ec2-instance-connect")
	}
	return false
}

// parseCloudTrail maps one CloudTrail record: id eventID, time eventTime,
// principal userIdentity.arn (else userName, principalId), action
// "SOURCE:eventName", failure on errorCode or a failed ConsoleLogin, role
// the assumed role (requestParameters.roleArn, else the session issuer),
// source "cloudtrail:REGION", source_ip sourceIPAddress when an address.
// Records that are not access (ctAccess) are skipped.
func parseCloudTrail(rec []byte, o Options, now time.Time) (model.AccessEvent, error) {
	var r ctRecord
	if err := decodeFast(rec, &r, readCloudTrail); err != nil {
		return model.AccessEvent{}, err
	}
	var p ndjson.Problems
	if r.EventName == "" {
		p.Add("eventName: required")
		return model.AccessEvent{}, p.Err()
	}
	if !ctAccess(r.EventSource, r.EventName) {
		return model.AccessEvent{}, errSkip
	}
	if r.EventID == "" {
		p.Add("eventID: required")
	}
	u := r.UserIdentity
	ev := model.AccessEvent{
		ID:        r.EventID,
		System:    o.System,
		Time:      timeField("eventTime", r.EventTime, &p),
		Principal: firstNonEmpty(u.ARN, u.UserName, u.PrincipalID),
		Action:    r.EventName,
		Result:    "success",
		Role:      firstNonEmpty(r.RequestParameters.RoleARN, u.SessionContext.SessionIssuer.ARN),
		Source:    "cloudtrail",
	}
	if r.EventSource != "" {
		ev.Action = strings.TrimSuffix(r.EventSource, ".amazonaws.com") + ":" + r.EventName
	}
	if r.AWSRegion != "" {
		ev.Source = "cloudtrail:" + r.AWSRegion
	}
	if r.ErrorCode != "" || r.ResponseElements.ConsoleLogin == "Failure" {
		ev.Result = "failure"
	}
	if _, err := netip.ParseAddr(r.SourceIP); err == nil {
		ev.SourceIP = r.SourceIP // else a service name ("ec2.amazonaws.com", "AWS Internal")
	}
	return finish(ev, rec, CloudTrail, now, &p)
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
