package access

import "bytes"

// jsonDoc collects a JSON document pretty-printed over several lines. A
// document opens on a line that starts with "{" or "[" and ends with an
// opening bracket, a comma or a colon, i.e. a line that is plainly not a
// whole record (a truncated NDJSON line ends mid-value and is rejected on
// its own instead of swallowing the lines after it); it closes on the line
// whose brackets balance it.
type jsonDoc struct {
	buf   []byte
	line  int // 1-based line the document starts on; 0 = none open
	depth int
	inStr bool
	esc   bool
}

func (d *jsonDoc) open() bool { return d.line != 0 }
func (d *jsonDoc) size() int  { return len(d.buf) }

func (d *jsonDoc) reset() {
	d.buf, d.line, d.depth, d.inStr, d.esc = d.buf[:0], 0, 0, false, false
}

// add takes line n. It returns the unit to parse and true: the line itself
// when no document is open and the line does not open one, or the whole
// document (its lines joined by "\n") when this line closes it. While a
// document is collecting it returns false.
func (d *jsonDoc) add(line []byte, n int) ([]byte, bool) {
	if !d.open() {
		t := bytes.TrimSpace(line)
		if len(t) == 0 || (t[0] != '{' && t[0] != '[') {
			return line, true
		}
		switch t[len(t)-1] {
		case '{', '[', ',', ':':
		default:
			return line, true
		}
		d.scan(t)
		if d.depth <= 0 {
			d.depth, d.inStr, d.esc = 0, false, false
			return line, true
		}
		d.line = n
		d.buf = append(d.buf[:0], line...)
		return nil, false
	}
	d.buf = append(d.buf, '\n')
	d.buf = append(d.buf, line...)
	if d.scan(line) {
		return d.buf, true
	}
	return nil, false
}

// scan follows the brackets of b outside strings; it reports whether the
// document closed (depth back to 0) in b.
func (d *jsonDoc) scan(b []byte) bool {
	for _, c := range b {
		switch {
		case d.esc:
			d.esc = false
		case d.inStr:
			switch c {
			case '\\':
				d.esc = true
			case '"':
				d.inStr = false
			}
		case c == '"':
			d.inStr = true
		case c == '{' || c == '[':
			d.depth++
		case c == '}' || c == ']':
			d.depth--
			if d.depth == 0 {
				return true
			}
		}
	}
	return false
}
