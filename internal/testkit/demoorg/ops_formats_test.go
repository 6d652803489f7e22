package demoorg

import (
	"encoding/json"
	"strconv"
	"testing"
	"time"
)

// readFormatLine reads one line of the formats of access_formats.go, as the
// oracle: the access records it holds, and how many records are no access
// event. It returns nil, 0 for the other formats.
func readFormatLine(t *testing.T, system, format, line string) ([]accessRec, int) {
	t.Helper()
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatalf("%s: time %q: %v", system, s, err)
		}
		return v
	}
	switch format {
	case FormatCloudTrail:
		var file struct {
			Records []struct {
				EventID, EventTime, EventSource, EventName string
				UserIdentity                               struct{ Arn string }
			}
		}
		if err := json.Unmarshal([]byte(line), &file); err != nil || len(file.Records) == 0 {
			t.Fatalf("%s: not a CloudTrail log file: %v", system, err)
		}
		var out []accessRec
		skipped := 0
		for _, r := range file.Records {
			if r.EventName != "ConsoleLogin" && r.EventName != "StartSession" {
				skipped++
				continue
			}
			out = append(out, accessRec{r.EventID, system, r.UserIdentity.Arn, "", "", at(r.EventTime)})
		}
		return out, skipped
	case FormatOkta:
		var e struct {
			UUID, Published, EventType string
			Actor                      struct{ AlternateID string }
		}
		if err := json.Unmarshal([]byte(line), &e); err != nil || e.UUID == "" {
			t.Fatalf("%s: bad okta line %s", system, line)
		}
		if e.EventType != "user.session.start" {
			return nil, 1
		}
		return []accessRec{{e.UUID, system, e.Actor.AlternateID, "", "", at(e.Published)}}, 0
	case FormatTeleport:
		var e struct{ Event, UID, Time, User string }
		if err := json.Unmarshal([]byte(line), &e); err != nil || e.UID == "" {
			t.Fatalf("%s: bad teleport line %s", system, line)
		}
		if e.Event != "session.start" && e.Event != "user.login" {
			return nil, 1
		}
		return []accessRec{{e.UID, system, e.User, "", "", at(e.Time)}}, 0
	case FormatGCPAudit:
		var e struct {
			InsertID, Timestamp string
			ProtoPayload        *struct {
				AuthenticationInfo struct{ PrincipalEmail string }
			}
		}
		if err := json.Unmarshal([]byte(line), &e); err != nil || e.InsertID == "" {
			t.Fatalf("%s: bad gcp line %s", system, line)
		}
		if e.ProtoPayload == nil {
			return nil, 1
		}
		return []accessRec{{e.InsertID, system, e.ProtoPayload.AuthenticationInfo.PrincipalEmail, "", "", at(e.Timestamp)}}, 0
	case FormatJournald:
		var m map[string]string
		if err := json.Unmarshal([]byte(line), &m); err != nil || m["SYSLOG_IDENTIFIER"] != "sshd" {
			t.Fatalf("%s: bad journal line %s", system, line)
		}
		lm := loginRE.FindStringSubmatch(m["MESSAGE"])
		if lm == nil {
			return nil, 1
		}
		us, err := strconv.ParseInt(m["__REALTIME_TIMESTAMP"], 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		return []accessRec{{sshdID(system, line), system, lm[1], "", "", time.UnixMicro(us).UTC()}}, 0
	}
	return nil, 0
}
