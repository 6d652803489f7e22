package access

import (
	"strings"
	"time"

	"github.com/changeproof/changeproof/ingest/ndjson"
	"github.com/changeproof/changeproof/model"
)

// The Okta System Log LogEvent fields this package reads; the rest are
// ignored.
type oktaEvent struct {
	UUID      string `json:"uuid"`
	Published string `json:"published"`
	EventType string `json:"eventType"`
	Actor     struct {
		AlternateID string `json:"alternateId"`
	} `json:"actor"`
	Client struct {
		IPAddress string `json:"ipAddress"`
	} `json:"client"`
	Outcome struct {
		Result string `json:"result"`
		Reason string `json:"reason"`
	} `json:"outcome"`
	Target []struct {
		Type        string `json:"type"`
		DisplayName string `json:"displayName"`
	} `json:"target"`
}

// oktaAccess reports the event types that are sign-ins: a session start,
// an authentication step, an app sign-in (app.*.user.login style).
func oktaAccess(t string) bool {
	return t == "user.session.start" || strings.HasPrefix(t, "user.authentication.") ||
		(strings.HasPrefix(t, "app.") && strings.HasSuffix(t, ".login"))
}

// parseOkta maps one System Log event: id uuid, time published, principal
// actor.alternateId, action eventType (and the app signed in to), success
// for outcome SUCCESS or ALLOW, source_ip client.ipAddress. Events that are
// not sign-ins (oktaAccess) are skipped.
func parseOkta(rec []byte, o Options, now time.Time) (model.AccessEvent, error) {
	var e oktaEvent
	if err := decodeFast(rec, &e, readOkta); err != nil {
		return model.AccessEvent{}, err
	}
	var p ndjson.Problems
	if e.EventType == "" {
		p.Add("eventType: required")
		return model.AccessEvent{}, p.Err()
	}
	if !oktaAccess(e.EventType) {
		return model.AccessEvent{}, errSkip
	}
	if e.UUID == "" {
		p.Add("uuid: required")
	}
	ev := model.AccessEvent{
		ID:        e.UUID,
		System:    o.System,
		Time:      timeField("published", e.Published, &p),
		Principal: e.Actor.AlternateID,
		Action:    e.EventType,
		SourceIP:  ipOnly(e.Client.IPAddress),
		Source:    "okta",
	}
	for _, t := range e.Target {
		if t.Type == "AppInstance" && t.DisplayName != "" {
			ev.Action += " " + t.DisplayName
			break
		}
	}
	switch strings.ToUpper(e.Outcome.Result) {
	case "SUCCESS", "ALLOW":
		ev.Result = "success"
	case "":
		p.Add("outcome.result: required")
	default: // FAILURE, DENY, CHALLENGE, UNKNOWN, SKIPPED: no sign-in happened
		ev.Result = "failure"
	}
	return finish(ev, rec, Okta, now, &p)
}
