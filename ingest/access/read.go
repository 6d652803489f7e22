package access

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/changeproof/changeproof/ingest/ndjson"
	"io"
	"time"

	"github.com/changeproof/changeproof/model"
)

// Options configures parsing.
type Options struct {
	// Format of the lines; "" = Generic.
	Format Format
	// System the events are of: required for SSHD and K8sAudit (?system= or
	// the configured cluster name); for Generic, the default for a line
	// without a system.
	System string
	// BreakGlassRoles are the system's break-glass roles
	// (access.systems.<system>.break_glass_roles): for K8sAudit, a user group
	// in this list becomes the event's Role.
	BreakGlassRoles []string
	// Now is the receipt clock, and gives the year of classic syslog
	// timestamps; nil = time.Now.
	Now func() time.Time
	// Location is the time zone of classic syslog timestamps, which carry
	// none (access.systems.<system>.timezone or ?timezone=); nil = UTC.
	Location *time.Location
	// Year, when not 0, is the year of classic syslog timestamps (?year=,
	// for archived logs); 0 = the latest year that does not put the line in
	// the future.
	Year int
}

// check returns o with defaults filled in, or why it cannot be used.
func (o Options) check() (Options, error) {
	switch o.Format {
	case "":
		o.Format = Generic
	case Generic:
	case K8sAudit, SSHD, Syslog, Journald, CloudTrail, Okta, GCPAudit, Teleport:
		if o.System == "" {
			return o, fmt.Errorf("format %s needs a system: give ?system= (or configure the cluster name)", o.Format)
		}
	default:
		return o, fmt.Errorf("unknown format %q: use %s", o.Format, formatList)
	}
	if o.Year != 0 && (o.Year < model.MinTime.Year() || o.Year > model.MaxTime.Year()) {
		return o, fmt.Errorf("year: %d is outside %d..%d", o.Year, model.MinTime.Year(), model.MaxTime.Year())
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	return o, nil
}

// Rejected is one input line that was not accepted.
type Rejected struct {
	Line  int    `json:"line"`  // 1-based
	Error string `json:"error"` // which field and why
}

// Result counts what Read did with the input's non-blank lines.
type Result struct {
	Accepted int        // events emitted (and accepted by emit)
	Skipped  int        // valid lines that are not access events
	Rejected []Rejected // every rejected line, in order
}

// DefaultBatchSize is used when Read is given a batch size below 1.
const DefaultBatchSize = 1000

// errSkip marks a valid line that is not an access event.
var errSkip = errors.New("not an access event")

// ParseLine parses one line (without its terminator) in o.Format and
// returns its first event; ParseEvents returns all of them. skip reports
// valid input that is no access event; err a rejected line (or unusable
// Options).
func ParseLine(line []byte, o Options) (ev model.AccessEvent, skip bool, err error) {
	evs, skip, err := ParseEvents(line, o)
	for _, e := range evs {
		if e.Format != "" {
			return e, false, err
		}
	}
	if err == nil && !skip {
		skip = true // a document of records none of which is an access event
	}
	return model.AccessEvent{}, skip, err
}

// ParseEvents parses one line (without its terminator), or one whole JSON
// document, in o.Format, and returns the events it holds: several for an
// rsyslog "message repeated N times" line or a document of records (a
// document's record that is no access event is a zero AccessEvent in its
// place). skip reports valid input that is no access event. err is a
// rejected input (or unusable Options); for a document, it lists the bad
// records while evs still holds the good ones.
func ParseEvents(line []byte, o Options) (evs []model.AccessEvent, skip bool, err error) {
	o, err = o.check()
	if err != nil {
		return nil, false, err
	}
	evs, err = parse(line, o, nil)
	if err == errSkip {
		return nil, true, nil
	}
	return evs, false, err
}

// readState is what one Read remembers from line to line: the Teleport
// access requests seen, so that a session started under one carries its
// roles and reason. nil remembers nothing (ParseEvents).
type readState struct {
	teleport map[string]teleportRequest
}

func parse(line []byte, o Options, st *readState) ([]model.AccessEvent, error) {
	now := o.Now()
	switch o.Format {
	case K8sAudit:
		return parseK8sAudit(line, o, now)
	case SSHD, Syslog:
		return parseSSHD(line, o, now)
	case Journald:
		return parseJournald(line, o, now)
	case CloudTrail:
		return parseRecords(line, o, now, "Records", parseCloudTrail)
	case Okta:
		return parseRecords(line, o, now, "data.events", parseOkta)
	case GCPAudit:
		return parseRecords(line, o, now, "entries", parseGCPAudit)
	case Teleport:
		return parseRecords(line, o, now, "events", func(rec []byte, o Options, now time.Time) (model.AccessEvent, error) {
			return parseTeleport(rec, o, now, st)
		})
	default:
		ev, err := parseGeneric(line, o, now)
		if err != nil {
			return nil, err
		}
		return []model.AccessEvent{ev}, nil
	}
}

// Read parses the lines of r in o.Format, calling emit with batches of at
// most batchSize events in input order; emit may keep the slice. A bad line
// is rejected and never blocks the good ones.
//
// If o cannot be used (unknown format, no System for sshd or k8s-audit), Read
// reads nothing and returns the error. If emit returns an error, Read stops
// and returns it (batches already emitted stay emitted). If reading r fails,
// Read emits the events read so far and returns the read error.
func Read(r io.Reader, o Options, batchSize int, emit func([]model.AccessEvent) error) (Result, error) {
	var res Result
	o, err := o.check()
	if err != nil {
		return res, err
	}
	if batchSize < 1 {
		batchSize = DefaultBatchSize
	}
	batches := ndjson.NewBatcher(batchSize, emit)
	flush := func() error {
		err := batches.Flush()
		res.Accepted = batches.Accepted
		return err
	}
	maxLine := MaxLineBytes
	if o.Format.wholeDocuments() {
		maxLine = MaxDocumentBytes
	}
	lr := ndjson.NewLineReader(r, maxLine)
	var doc jsonDoc // a JSON document spread over several lines
	st := &readState{}
	for {
		line, tooLong, rerr := lr.Next()
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			if err := flush(); err != nil {
				return res, err
			}
			return res, fmt.Errorf("reading line %d: %w", lr.N()+1, rerr)
		}
		if tooLong {
			if doc.open() {
				res.Rejected = append(res.Rejected, Rejected{Line: doc.line, Error: errDocTooLong})
				doc.reset()
			}
			res.Rejected = append(res.Rejected, Rejected{Line: lr.N(), Error: fmt.Sprintf("line too long: over %d bytes", maxLine)})
			continue
		}
		n := lr.N()
		if o.Format.wholeDocuments() {
			// A pretty-printed document (a CloudTrail log file, an
			// EventList, an API answer) is collected until it closes.
			var complete bool
			line, complete = doc.add(line, n)
			if !complete {
				if doc.size() > MaxDocumentBytes {
					res.Rejected = append(res.Rejected, Rejected{Line: doc.line, Error: errDocTooLong})
					doc.reset()
				}
				continue
			}
			if doc.open() {
				n = doc.line
				doc.reset()
			}
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		// A document of records may hold good and bad ones: the good are
		// emitted, the bad reported together on the document's line.
		evs, err := parse(line, o, st)
		switch {
		case err == errSkip:
			res.Skipped++
			continue
		case err != nil:
			res.Rejected = append(res.Rejected, Rejected{Line: n, Error: err.Error()})
		}
		for _, ev := range evs {
			if ev.Format == "" { // a record of a document that is no access event
				res.Skipped++
				continue
			}
			ev.Line = n // a document's records: the line it starts on
			err = batches.Add(ev)
			res.Accepted = batches.Accepted
			if err != nil {
				return res, err
			}
		}
	}
	if doc.open() {
		res.Rejected = append(res.Rejected, Rejected{Line: doc.line, Error: "JSON document not closed at the end of the input"})
	}
	// flush updates res: call it before res is read for the return.
	err = flush()
	return res, err
}

var (
	errDocTooLong = fmt.Sprintf("JSON document too long: over %d bytes", MaxDocumentBytes)
)
