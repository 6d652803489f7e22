package access

import (
	"net/netip"
	"slices"
	"time"

	"github.com/changeproof/changeproof/ingest/ndjson"
	"github.com/changeproof/changeproof/internal/jsonscan"
	"github.com/changeproof/changeproof/model"
)

var genericFields = []string{"id", "time", "principal", "system", "action", "result",
	"role", "ticket", "source_ip", "source"}

// genericLine is the fast path's view of a generic line; its fields are in
// genericFields' order.
type genericLine struct {
	ID        string `json:"id"`
	Time      string `json:"time"`
	Principal string `json:"principal"`
	System    string `json:"system"`
	Action    string `json:"action"`
	Result    string `json:"result"`
	Role      string `json:"role"`
	Ticket    string `json:"ticket"`
	SourceIP  string `json:"source_ip"`
	Source    string `json:"source"`
}

func parseGeneric(line []byte, o Options, now time.Time) (model.AccessEvent, error) {
	if ev, ok := parseGenericFast(line, o, now); ok {
		return ev, nil
	}
	return parseGenericSlow(line, o, now)
}

// parseGenericFast decodes a good line quickly; for anything wrong it gives
// up (ok false) and parseGenericSlow finds and names every problem.
func parseGenericFast(line []byte, o Options, now time.Time) (ev model.AccessEvent, ok bool) {
	if !keysExactly(line, genericFields) {
		return ev, false // encoding/json matches keys case-insensitively
	}
	// jsonscan reads the fields without encoding/json's reflection (the
	// decoder was most of the cost of an upload); it fails, sending the line
	// to the slow path, on anything whose meaning it does not reproduce
	// exactly (escapes aside, which it decodes as encoding/json does).
	var g genericLine
	fields := [...]*string{&g.ID, &g.Time, &g.Principal, &g.System, &g.Action, &g.Result, &g.Role, &g.Ticket, &g.SourceIP, &g.Source}
	r := jsonscan.New(line)
	if !r.Object(genericFields, func(k int) { *fields[k], _ = r.String() }) {
		return ev, false
	}
	r.End() // trailing data fails
	if r.Failed() {
		return ev, false
	}
	if g.System == "" {
		g.System = o.System
	}
	if g.ID == "" || g.Time == "" || g.Principal == "" || g.System == "" || g.Action == "" ||
		(g.Result != "success" && g.Result != "failure") {
		return ev, false
	}
	t, err := time.Parse(time.RFC3339Nano, g.Time)
	if err != nil {
		return ev, false
	}
	if g.SourceIP != "" {
		if _, err := netip.ParseAddr(g.SourceIP); err != nil {
			return ev, false
		}
	}
	return model.AccessEvent{
		ID: g.ID, System: g.System, Time: t.UTC(), Principal: g.Principal, Action: g.Action,
		Result: g.Result, Role: g.Role, Ticket: g.Ticket, SourceIP: g.SourceIP, Source: g.Source,
		Format: string(Generic), Raw: string(line), ReceivedAt: now.UTC(),
	}, true
}

// keysExactly reports whether every key of the top-level object in line is
// spelled exactly as one of known, without escapes. line may be invalid JSON
// (the decoder judges that); this only looks at keys.
func keysExactly(line []byte, known []string) bool {
	depth := 0
	for i := 0; i < len(line); i++ {
		switch line[i] {
		case '{', '[':
			depth++
		case '}', ']':
			depth--
		case '"':
			j, escaped := i+1, false
			for ; j < len(line) && line[j] != '"'; j++ {
				if line[j] == '\\' {
					escaped = true
					j++
				}
			}
			if j >= len(line) {
				return false
			}
			k := j + 1
			for k < len(line) && (line[k] == ' ' || line[k] == '\t' || line[k] == '\r' || line[k] == '\n') {
				k++
			}
			if depth == 1 && k < len(line) && line[k] == ':' {
				if escaped || !slices.Contains(known, string(line[i+1:j])) {
					return false
				}
			}
			i = j
		}
	}
	return true
}

func parseGenericSlow(line []byte, o Options, now time.Time) (model.AccessEvent, error) {
	obj, err := ndjson.DecodeObject(line)
	if err != nil {
		return model.AccessEvent{}, err
	}
	var p ndjson.Problems
	for _, k := range obj.Unknown(genericFields) {
		p.Add("unknown field %s", ndjson.Quote(k))
	}
	ev := model.AccessEvent{Format: string(Generic)}
	ev.ID = obj.Required("id", &p)
	if t := obj.Required("time", &p); t != "" {
		ev.Time = parseTime("time", t, &p)
	}
	ev.Principal = obj.Required("principal", &p)
	if sys, ok := obj.Str("system", &p); ok {
		if sys == "" {
			sys = o.System
		}
		if sys == "" {
			p.Add("system: required (the line has none and no default ?system= was given)")
		}
		ev.System = sys
	}
	ev.Action = obj.Required("action", &p)
	if r := obj.Required("result", &p); r != "" {
		if r != "success" && r != "failure" {
			p.Add("result: must be success or failure, got %s", ndjson.Quote(r))
		}
		ev.Result = r
	}
	ev.Role, _ = obj.Str("role", &p)
	ev.Ticket, _ = obj.Str("ticket", &p)
	if ip, _ := obj.Str("source_ip", &p); ip != "" {
		if _, err := netip.ParseAddr(ip); err != nil {
			p.Add("source_ip: not an IP address: %s", ndjson.Quote(ip))
		}
		ev.SourceIP = ip
	}
	ev.Source, _ = obj.Str("source", &p)
	if err := p.Err(); err != nil {
		return model.AccessEvent{}, err
	}
	ev.Raw = string(line)
	ev.ReceivedAt = now.UTC()
	return ev, nil
}

// parseTime parses an RFC 3339 time (fractional seconds allowed) into UTC.
func parseTime(name, s string, p *ndjson.Problems) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		p.Add("%s: not RFC 3339: %s", name, ndjson.Quote(s))
		return time.Time{}
	}
	if err := model.CheckTime(name, t); err != nil {
		p.Add("%v", err)
		return time.Time{}
	}
	return t.UTC()
}
