package access

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/changeproof/changeproof/ingest/ndjson"
	"github.com/changeproof/changeproof/internal/jsonscan"
	"github.com/changeproof/changeproof/model"
)

// The journal fields this package reads from `journalctl -o json` lines.
// journalctl writes a field that is not valid UTF-8 as an array of byte
// values, and a field present several times as an array of those.
type journalEntry struct {
	Message    json.RawMessage `json:"MESSAGE"`
	Identifier json.RawMessage `json:"SYSLOG_IDENTIFIER"`
	Hostname   string          `json:"_HOSTNAME"`
	Realtime   string          `json:"__REALTIME_TIMESTAMP"`
}

// parseJournald reads one `journalctl -o json` entry: entries of sshd,
// sshd-session or sshd-auth are read as the sshd format reads MESSAGE, at
// __REALTIME_TIMESTAMP (UTC microseconds), with source "sshd@_HOSTNAME";
// other entries are skipped.
func parseJournald(line []byte, o Options, now time.Time) ([]model.AccessEvent, error) {
	var e journalEntry
	if err := decodeFast(line, &e, readJournal); err != nil {
		return nil, err
	}
	if !sshdPrograms[journalString(e.Identifier)] {
		return nil, errSkip
	}
	var p ndjson.Problems
	var t time.Time
	if us, err := strconv.ParseInt(e.Realtime, 10, 64); err != nil {
		p.Add("__REALTIME_TIMESTAMP: not microseconds since the epoch: %s", ndjson.Quote(e.Realtime))
	} else {
		t = time.UnixMicro(us).UTC()
		if err := model.CheckTime("__REALTIME_TIMESTAMP", t); err != nil {
			p.Add("%v", err)
		}
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	source := "sshd"
	if e.Hostname != "" {
		source = "sshd@" + e.Hostname
	}
	return sshdEvents(journalString(e.Message), string(line), t, source, Journald, o, now)
}

// journalString reads a field written as a string or as an array of bytes
// (not UTF-8); "" for anything else.
func journalString(raw json.RawMessage) string {
	if r := jsonscan.New(raw); len(raw) > 0 && raw[0] == '"' {
		if s, ok := r.String(); ok && !r.Failed() {
			return s
		}
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var b []byte
	var ints []int
	if json.Unmarshal(raw, &ints) == nil {
		for _, v := range ints {
			if v < 0 || v > 255 {
				return ""
			}
			b = append(b, byte(v))
		}
		return string(b)
	}
	return ""
}
