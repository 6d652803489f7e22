package store

import (
	"encoding/json"
	"reflect"
	"strconv"
	"time"

	"github.com/changeproof/changeproof/model"
)

// marshalEvidence is json.Marshal(ev), byte for byte, without reflection:
// a full evaluation from nothing writes millions of findings, and
// encoding/json spent more on their evidence than the engine did storing
// them. Strings that need escaping go through encoding/json itself, so
// only the plain ones (most) take the short path; and should model.Evidence
// or model.ReviewVerdict ever differ from the fields written here, every
// evidence goes through encoding/json (evidenceFieldsKnown).
func marshalEvidence(ev *model.Evidence) ([]byte, error) {
	if !evidenceFieldsKnown {
		return json.Marshal(ev)
	}
	b := make([]byte, 0, 128+len(ev.Reviews)*160)
	b = append(b, '{')
	first := true
	key := func(name string) {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, '"')
		b = append(b, name...)
		b = append(b, '"', ':')
	}
	str := func(name, v string) {
		if v != "" {
			key(name)
			b = appendJSONString(b, v)
		}
	}
	strs := func(name string, vs []string) {
		if len(vs) == 0 {
			return
		}
		key(name)
		b = append(b, '[')
		for i, v := range vs {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, v)
		}
		b = append(b, ']')
	}
	str("url", ev.URL)
	str("author", ev.Author)
	str("merged_by", ev.MergedBy)
	str("pusher", ev.Pusher)
	str("sha", ev.SHA)
	str("head_sha", ev.HeadSHA)
	str("merge_commit_sha", ev.MergeCommitSHA)
	strs("labels", ev.Labels)
	if len(ev.Reviews) > 0 {
		key("reviews")
		b = append(b, '[')
		for i := range ev.Reviews {
			r := &ev.Reviews[i]
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"review_id":`...)
			b = strconv.AppendInt(b, r.ReviewID, 10)
			b = append(b, `,"reviewer":`...)
			b = appendJSONString(b, r.Reviewer)
			b = append(b, `,"state":`...)
			b = appendJSONString(b, r.State)
			b = append(b, `,"commit_id":`...)
			b = appendJSONString(b, r.CommitID)
			b = append(b, `,"submitted_at":`...)
			t, err := r.SubmittedAt.MarshalJSON()
			if err != nil {
				return json.Marshal(ev) // the same error, as encoding/json words it
			}
			b = append(b, t...)
			b = append(b, `,"counted":`...)
			b = strconv.AppendBool(b, r.Counted)
			b = append(b, `,"why":`...)
			b = appendJSONString(b, r.Why)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	strs("ticket_keys", ev.TicketKeys)
	strs("settings", ev.Settings)
	strs("checks", ev.Checks)
	strs("delivery_ids", ev.DeliveryIDs)
	str("merge_of", ev.MergeOf)
	strs("shipped", ev.Shipped)
	strs("failed_changes", ev.FailedChanges)
	str("principal", ev.Principal)
	str("person", ev.Person)
	str("system", ev.System)
	str("role", ev.Role)
	str("ticket", ev.Ticket)
	return append(b, '}'), nil
}

// appendJSONString appends s as encoding/json writes it (HTML characters
// escaped): as is when nothing in it needs escaping, else by encoding/json.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always marshals
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// evidenceFieldsKnown says whether model.Evidence and model.ReviewVerdict
// have exactly the fields marshalEvidence writes, in its order.
var evidenceFieldsKnown = fieldsAre(reflect.TypeFor[model.Evidence](), []string{
	"URL string url,omitempty", "Author string author,omitempty", "MergedBy string merged_by,omitempty",
	"Pusher string pusher,omitempty", "SHA string sha,omitempty", "HeadSHA string head_sha,omitempty",
	"MergeCommitSHA string merge_commit_sha,omitempty", "Labels []string labels,omitempty",
	"Reviews []model.ReviewVerdict reviews,omitempty", "TicketKeys []string ticket_keys,omitempty",
	"Settings []string settings,omitempty", "Checks []string checks,omitempty", "DeliveryIDs []string delivery_ids,omitempty",
	"MergeOf string merge_of,omitempty", "Shipped []string shipped,omitempty",
	"FailedChanges []string failed_changes,omitempty", "Principal string principal,omitempty",
	"Person string person,omitempty", "System string system,omitempty", "Role string role,omitempty",
	"Ticket string ticket,omitempty",
}) && fieldsAre(reflect.TypeFor[model.ReviewVerdict](), []string{
	"ReviewID int64 review_id", "Reviewer string reviewer", "State string state", "CommitID string commit_id",
	"SubmittedAt time.Time submitted_at", "Counted bool counted", "Why string why",
}) && reflect.TypeFor[time.Time]().Implements(reflect.TypeFor[json.Marshaler]())

func fieldsAre(t reflect.Type, want []string) bool {
	var fields []reflect.StructField // the JSON's fields: embedded parts flattened, in order
	for _, f := range reflect.VisibleFields(t) {
		if !f.Anonymous {
			fields = append(fields, f)
		}
	}
	if len(fields) != len(want) {
		return false
	}
	for i := range want {
		f := fields[i]
		if got := f.Name + " " + f.Type.String() + " " + f.Tag.Get("json"); got != want[i] {
			return false
		}
	}
	return true
}

// findingRowOf is the stored row of f, its evidence encoded by
// marshalEvidence (byte for byte what encoding/json writes, faster).
func findingRowOf(f *model.Finding) (findingRow, error) {
	ev, err := marshalEvidence(&f.Evidence)
	if err != nil {
		return findingRow{}, err
	}
	var w []byte
	if f.Waiver != nil {
		if w, err = json.Marshal(f.Waiver); err != nil {
			return findingRow{}, err
		}
	}
	return findingRow{f.Rule, f.Subject, string(f.Outcome), f.Reason, f.Repo, Time(f.OccurredAt),
		Time(f.EvaluatedAt), string(ev), string(w), ""}, nil
}
