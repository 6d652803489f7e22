package access

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/changeproof/changeproof/ingest/ndjson"
	"github.com/changeproof/changeproof/model"
)

// recordParser reads one JSON record into an event; errSkip for a valid
// record that is no access event.
type recordParser func(rec []byte, o Options, now time.Time) (model.AccessEvent, error)

// parseRecords reads one input unit of a JSON format: a record, a JSON
// array of records (an API answer), or an object holding its records in an
// array under key (a CloudTrail log file's "Records"; "data.events" of an
// Okta event hook). Every record's Raw is its own bytes. A document's
// records that are no access event come back as zero events (counted as
// skipped); bad records are reported together, the good ones still
// returned.
func parseRecords(unit []byte, o Options, now time.Time, key string, parse recordParser) ([]model.AccessEvent, error) {
	t := bytes.TrimSpace(unit)
	var recs []json.RawMessage
	switch {
	case len(t) > 0 && t[0] == '[':
		if err := json.Unmarshal(t, &recs); err != nil {
			return nil, jsonError(err)
		}
	case key != "" && bytes.Contains(t, []byte(`"`+lastKey(key)+`"`)):
		var ok bool
		var err error
		if recs, ok, err = recordsUnder(t, key); err != nil {
			return nil, err
		}
		if !ok {
			ev, err := parse(unit, o, now)
			if err != nil {
				return nil, err
			}
			return []model.AccessEvent{ev}, nil
		}
	default:
		ev, err := parse(unit, o, now)
		if err != nil {
			return nil, err
		}
		return []model.AccessEvent{ev}, nil
	}
	evs := make([]model.AccessEvent, 0, len(recs))
	var p ndjson.Problems
	for i, rec := range recs {
		ev, err := parse(rec, o, now)
		switch {
		case err == errSkip:
			evs = append(evs, model.AccessEvent{}) // counted as skipped
		case err != nil:
			p.Add("record %d: %v", i+1, err)
		default:
			evs = append(evs, ev)
		}
	}
	return evs, p.Err()
}

func lastKey(path string) string {
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[i+1:]
	}
	return path
}

// recordsUnder returns the array at the dotted path in object b; ok is false
// when b has no array there (b is then one record itself).
func recordsUnder(b []byte, path string) (recs []json.RawMessage, ok bool, err error) {
	cur := json.RawMessage(b)
	for _, k := range strings.Split(path, ".") {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(cur, &m); err != nil {
			if _, isObj := err.(*json.UnmarshalTypeError); isObj {
				return nil, false, nil
			}
			return nil, false, jsonError(err)
		}
		v, found := m[k]
		if !found {
			return nil, false, nil
		}
		cur = v
	}
	if t := bytes.TrimSpace(cur); len(t) == 0 || t[0] != '[' {
		return nil, false, nil
	}
	if err := json.Unmarshal(cur, &recs); err != nil {
		return nil, false, fmt.Errorf("%s: %v", path, jsonError(err))
	}
	return recs, true, nil
}

// jsonError turns a decoding error into a line's reason.
func jsonError(err error) error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te) && te.Field == "":
		return errors.New("not a JSON object, got " + te.Value)
	case errors.As(err, &te):
		return errors.New(ndjson.TypeError(te))
	case errors.As(err, &se):
		return errors.New("not JSON: " + se.Error())
	default:
		return errors.New("not JSON: " + strings.TrimPrefix(err.Error(), "json: "))
	}
}

// decodeRecord decodes rec into v, with errors as jsonError gives them.
func decodeRecord(rec []byte, v any) error {
	if err := json.Unmarshal(rec, v); err != nil {
		return jsonError(err)
	}
	return nil
}

// finish checks the event's time, required fields' problems, and fills Raw,
// Format and ReceivedAt.
func finish(ev model.AccessEvent, rec []byte, f Format, now time.Time, p *ndjson.Problems) (model.AccessEvent, error) {
	if err := p.Err(); err != nil {
		return model.AccessEvent{}, err
	}
	ev.Raw = string(rec)
	ev.Format = string(f)
	ev.ReceivedAt = now.UTC()
	return ev, nil
}

// timeField parses the RFC 3339 time s of field name, range-checked.
func timeField(name, s string, p *ndjson.Problems) time.Time {
	if s == "" {
		p.Add("%s: required", name)
		return time.Time{}
	}
	return parseTime(name, s, p)
}

// breakGlass returns the first of candidates in roles, else "".
func breakGlass(candidates, roles []string) string {
	for _, c := range candidates {
		for _, r := range roles {
			if c == r {
				return c
			}
		}
	}
	return ""
}
