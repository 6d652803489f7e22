package deploy

import (
	"bytes"
	"fmt"
	"github.com/changeproof/changeproof/ingest/ndjson"
	"io"

	"github.com/changeproof/changeproof/model"
)

// Rejected is one input line that was not accepted.
type Rejected struct {
	Line  int    `json:"line"`  // 1-based; for a pretty-printed object, the line of its "{"
	Error string `json:"error"` // which field and why
}

// DefaultBatchSize is used when Read is given a batch size below 1.
const DefaultBatchSize = 1000

// Read parses deploys from r: one JSON object, one pretty-printed JSON object
// (its first line is a lone "{"), or NDJSON. It calls emit with batches of at
// most batchSize valid deploys, in input order; emit may keep the slice. A bad
// line is rejected and never blocks the good ones.
//
// Read returns how many deploys emit accepted and every rejected line with a
// reason. If emit returns an error, Read stops and returns it (batches already
// emitted stay emitted). If reading r fails, Read emits the deploys read so
// far and returns the read error.
func Read(r io.Reader, o Options, batchSize int, emit func([]model.Deploy) error) (accepted int, rejected []Rejected, err error) {
	if batchSize < 1 {
		batchSize = DefaultBatchSize
	}
	batches := ndjson.NewBatcher(batchSize, emit)
	flush := func() error {
		err := batches.Flush()
		accepted = batches.Accepted
		return err
	}
	handle := func(b []byte, line int) error {
		d, err := Parse(b, o)
		if err != nil {
			rejected = append(rejected, Rejected{Line: line, Error: err.Error()})
			return nil
		}
		// The object's bytes as received are its evidence (a copy: the
		// reader reuses its buffer).
		d.Raw, d.Line = string(b), line
		err = batches.Add(d)
		accepted = batches.Accepted
		return err
	}

	lr := ndjson.NewLineReader(r, MaxLineBytes)
	var (
		obj      []byte // a pretty-printed object being gathered, nil when none
		objStart int
		oversize bool // obj is over MaxLineBytes: skipped to its end, not kept
		sc       scanner
	)
	for {
		line, tooLong, rerr := lr.Next()
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			if err := flush(); err != nil {
				return accepted, rejected, err
			}
			return accepted, rejected, fmt.Errorf("reading line %d: %w", lr.N()+1, rerr)
		}
		n := lr.N()
		if obj != nil {
			if !tooLong {
				sc.feed(line)
			}
			if !oversize && (tooLong || len(obj)+len(line) >= MaxLineBytes) {
				// Too big to hold: read on to its end without keeping it.
				oversize = true
				obj = obj[:1]
			}
			if !oversize {
				obj = append(append(obj, line...), '\n')
			}
			// A JSON string cannot span lines, so an open string at the end
			// of a line is an error now, not something to wait on.
			if sc.depth > 0 && !sc.inString && !tooLong {
				continue
			}
			if oversize {
				rejected = append(rejected, Rejected{Line: objStart, Error: errObjectTooLong})
			} else if err := handle(obj, objStart); err != nil {
				return accepted, rejected, err
			}
			obj, oversize = nil, false
			continue
		}
		if tooLong {
			rejected = append(rejected, Rejected{Line: n, Error: fmt.Sprintf("line too long: over %d bytes", MaxLineBytes)})
			continue
		}
		trimmed := bytes.TrimSpace(line)
		if len(trimmed) == 0 {
			continue
		}
		if len(trimmed) == 1 && trimmed[0] == '{' {
			obj = append(make([]byte, 0, 1024), line...)
			obj = append(obj, '\n')
			objStart = n
			sc = scanner{}
			sc.feed(line)
			continue
		}
		if err := handle(line, n); err != nil {
			return accepted, rejected, err
		}
	}
	if oversize {
		rejected = append(rejected, Rejected{Line: objStart, Error: errObjectTooLong})
	} else if obj != nil {
		if err := handle(obj, objStart); err != nil {
			return accepted, rejected, err
		}
	}
	if err := flush(); err != nil {
		return accepted, rejected, err
	}
	return accepted, rejected, nil
}

var errObjectTooLong = fmt.Sprintf("object too long: over %d bytes", MaxLineBytes)

// scanner tracks the nesting depth of JSON text fed to it line by line, so a
// pretty-printed object is known to be complete when depth returns to zero.
type scanner struct {
	depth    int
	inString bool
	escaped  bool
}

func (s *scanner) feed(b []byte) {
	for _, c := range b {
		switch {
		case s.escaped:
			s.escaped = false
		case s.inString:
			switch c {
			case '\\':
				s.escaped = true
			case '"':
				s.inString = false
			}
		case c == '"':
			s.inString = true
		case c == '{' || c == '[':
			s.depth++
		case c == '}' || c == ']':
			s.depth--
		}
	}
}
