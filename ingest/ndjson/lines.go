package ndjson

import (
	"bufio"
	"bytes"
	"io"
)

// utf8BOM, which some editors put at the start of a file, is dropped from
// the first line.
var utf8BOM = []byte("\xef\xbb\xbf")

// MaxLineBytes is the longest line (or pretty-printed Object) accepted:
// 1 MiB. A longer one is rejected without being held in memory whole.
const MaxLineBytes = 1 << 20

// LineReader yields the lines of r one at a time, holding at most one line
// (up to max bytes) in memory. Lines end at "\n"; a "\r" before it is part of
// the terminator. The last line needs no terminator. A UTF-8 byte order mark
// at the start of the input is dropped.
type LineReader struct {
	br  *bufio.Reader
	buf []byte
	max int
	n   int // number of the line last returned, 1-based
}

func NewLineReader(r io.Reader, max int) *LineReader {
	return &LineReader{br: bufio.NewReaderSize(r, 64<<10), max: max}
}

// Next returns the next line, without its terminator, valid until the next
// call. tooLong reports a line over max bytes: its content is not returned
// (and was never buffered whole). err is io.EOF after the last line.
func (l *LineReader) Next() (line []byte, tooLong bool, err error) {
	l.buf = l.buf[:0]
	read := false
	for {
		frag, err := l.br.ReadSlice('\n')
		if len(frag) > 0 {
			read = true
		}
		if !tooLong {
			if len(l.buf)+len(frag) > l.max+2 { // +2: room for "\r\n"
				tooLong = true
				l.buf = l.buf[:0]
			} else {
				l.buf = append(l.buf, frag...)
			}
		}
		switch err {
		case bufio.ErrBufferFull:
			continue
		case nil:
		case io.EOF:
			if !read {
				return nil, false, io.EOF
			}
		default:
			return nil, false, err
		}
		l.n++
		if tooLong {
			return nil, true, nil
		}
		line = l.buf
		if n := len(line); n > 0 && line[n-1] == '\n' {
			line = line[:n-1]
			if n := len(line); n > 0 && line[n-1] == '\r' {
				line = line[:n-1]
			}
		}
		if l.n == 1 {
			line = bytes.TrimPrefix(line, utf8BOM)
		}
		if len(line) > l.max {
			return nil, true, nil
		}
		return line, false, nil
	}
}

// N is the number of the line last returned by Next, 1-based.
func (l *LineReader) N() int { return l.n }
