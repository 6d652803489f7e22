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
	// none; nil = UTC.
	Location *time.Location
}

// check returns o with defaults filled in, or why it cannot be used.
func (o Options) check() (Options, error) {
	switch o.Format {
	case "":
		o.Format = Generic
	case Generic:
	case K8sAudit, SSHD:
		if o.System == "" {
			return o, fmt.Errorf("format %s needs a system: give ?system= (or configure the cluster name)", o.Format)
		}
	default:
		return o, fmt.Errorf("unknown format %q: use generic, k8s-audit or sshd", o.Format)
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

// ParseLine parses one line (without its terminator) in o.Format. skip
// reports a valid line that is not an access event; err a rejected line (or
// unusable Options).
func ParseLine(line []byte, o Options) (ev model.AccessEvent, skip bool, err error) {
	o, err = o.check()
	if err != nil {
		return ev, false, err
	}
	ev, err = parse(line, o)
	if err == errSkip {
		return model.AccessEvent{}, true, nil
	}
	return ev, false, err
}

func parse(line []byte, o Options) (model.AccessEvent, error) {
	now := o.Now()
	switch o.Format {
	case K8sAudit:
		return parseK8sAudit(line, o, now)
	case SSHD:
		return parseSSHD(line, o, now)
	default:
		return parseGeneric(line, o, now)
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
	lr := ndjson.NewLineReader(r, MaxLineBytes)
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
			res.Rejected = append(res.Rejected, Rejected{Line: lr.N(), Error: errLineTooLong})
			continue
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		ev, err := parse(line, o)
		switch {
		case err == errSkip:
			res.Skipped++
			continue
		case err != nil:
			res.Rejected = append(res.Rejected, Rejected{Line: lr.N(), Error: err.Error()})
			continue
		}
		ev.Line = lr.N()
		err = batches.Add(ev)
		res.Accepted = batches.Accepted
		if err != nil {
			return res, err
		}
	}
	// flush updates res: call it before res is read for the return.
	err = flush()
	return res, err
}

var errLineTooLong = fmt.Sprintf("line too long: over %d bytes", MaxLineBytes)
