// Package jsonscan reads the few fields a caller needs out of a large JSON
// document and skips the rest, several times faster than encoding/json,
// which builds every value it walks past and scans the input twice.
//
// A Reader never guesses: whenever a document is not valid JSON, or is
// valid but holds something whose meaning encoding/json defines in a way
// this package does not reproduce (a key that differs from a wanted one
// only in case, a wanted key given twice, an escaped key, a number where a
// string is wanted, ...), it fails, and the caller decodes the document
// with encoding/json instead. So on success the caller holds exactly what
// encoding/json would have given it, and on failure it can report exactly
// encoding/json's error.
package jsonscan

import (
	"encoding/binary"
	"encoding/json"
	"math/bits"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// maxDepth is encoding/json's nesting limit; deeper documents fail.
const maxDepth = 10000

// Reader reads one JSON document. The zero value is unusable; use New.
// Once failed, every method returns zero values and Failed is true.
type Reader struct {
	b      []byte
	i      int
	depth  int // containers Object and Array are inside
	failed bool
}

// New returns a Reader at the start of b.
func New(b []byte) *Reader { return &Reader{b: b} }

// Failed reports whether the document must be decoded with encoding/json.
func (r *Reader) Failed() bool { return r.failed }

// Fail marks the document as one for encoding/json (a caller's own check
// found something it does not handle).
func (r *Reader) Fail() { r.failed = true }

func (r *Reader) ws() {
	for r.i < len(r.b) {
		switch r.b[r.i] {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return
		}
	}
}

// peek returns the first byte of the next value (after white space), or 0
// at the end of input.
func (r *Reader) peek() byte {
	r.ws()
	if r.i >= len(r.b) {
		return 0
	}
	return r.b[r.i]
}

// null consumes a null literal if one is next.
func (r *Reader) null() bool {
	if r.peek() == 'n' {
		if r.i+4 <= len(r.b) && string(r.b[r.i:r.i+4]) == "null" {
			r.i += 4
			return true
		}
		r.failed = true
		return true
	}
	return false
}

// Object reads an object whose members named in keys the caller wants:
// member(k) is called with r at the value of keys[k] and must consume it
// (read it or Skip it); other members are skipped. It returns false for
// null (or after a failure). A member given twice, an escaped key, or a
// key that matches a wanted one only when case is ignored fails the
// reader: encoding/json's rules for those are its own.
func (r *Reader) Object(keys []string, member func(k int)) bool {
	if r.failed || r.null() {
		return false
	}
	if r.peek() != '{' || r.depth >= maxDepth {
		r.failed = true
		return false
	}
	r.i++
	r.depth++
	defer func() { r.depth-- }()
	var seen uint64
	if r.peek() == '}' {
		r.i++
		return true
	}
	for {
		if r.peek() != '"' {
			r.failed = true
			return false
		}
		start := r.i + 1
		end, esc := scanString(r.b, start)
		if end < 0 || esc {
			r.failed = true
			return false
		}
		key := r.b[start:end]
		r.i = end + 1
		if r.peek() != ':' {
			r.failed = true
			return false
		}
		r.i++
		k := lookup(keys, key)
		switch {
		case k >= 0:
			if k < 64 {
				if seen&(1<<k) != 0 {
					r.failed = true
					return false
				}
				seen |= 1 << k
			}
			member(k)
		case !plainLower(key) && foldsToAny(keys, key):
			r.failed = true
			return false
		default:
			r.Skip()
		}
		if r.failed {
			return false
		}
		switch r.peek() {
		case ',':
			r.i++
		case '}':
			r.i++
			return true
		default:
			r.failed = true
			return false
		}
	}
}

func lookup(keys []string, key []byte) int {
	for k, w := range keys {
		if len(w) == len(key) && w == string(key) {
			return k
		}
	}
	return -1
}

// plainLower reports whether key holds only bytes no other letter folds to
// under encoding/json's case-insensitive matching.
func plainLower(key []byte) bool {
	for _, c := range key {
		if c >= 'A' && c <= 'Z' || c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func foldsToAny(keys []string, key []byte) bool {
	for _, w := range keys {
		if strings.EqualFold(w, string(key)) {
			return true
		}
	}
	return false
}

// Array reads an array, calling elem with r at each element (it must
// consume it). It returns false for null (or after a failure).
func (r *Reader) Array(elem func()) bool {
	if r.failed || r.null() {
		return false
	}
	if r.peek() != '[' || r.depth >= maxDepth {
		r.failed = true
		return false
	}
	r.i++
	r.depth++
	defer func() { r.depth-- }()
	if r.peek() == ']' {
		r.i++
		return true
	}
	for {
		elem()
		if r.failed {
			return false
		}
		switch r.peek() {
		case ',':
			r.i++
		case ']':
			r.i++
			return true
		default:
			r.failed = true
			return false
		}
	}
}

// String reads a string; null reads as "" with ok false. Escapes and
// invalid UTF-8 are decoded by encoding/json, so the result is its.
func (r *Reader) String() (s string, ok bool) {
	if r.failed || r.null() {
		return "", false
	}
	if r.peek() != '"' {
		r.failed = true
		return "", false
	}
	start := r.i + 1
	end, esc := scanString(r.b, start)
	if end < 0 {
		r.failed = true
		return "", false
	}
	r.i = end + 1
	raw := r.b[start:end]
	if !esc && utf8.Valid(raw) {
		return string(raw), true
	}
	if err := json.Unmarshal(r.b[start-1:end+1], &s); err != nil {
		r.failed = true
		return "", false
	}
	return s, true
}

// Int reads an integer that fits in 64 bits; null reads as 0. Anything
// else (a fraction, an exponent, a string) fails the reader.
func (r *Reader) Int() int64 {
	if r.failed || r.null() {
		return 0
	}
	start := r.i
	if !r.number() {
		r.failed = true
		return 0
	}
	n, err := strconv.ParseInt(string(r.b[start:r.i]), 10, 64)
	if err != nil {
		r.failed = true
		return 0
	}
	return n
}

// Bool reads true or false; null reads as false.
func (r *Reader) Bool() bool {
	if r.failed || r.null() {
		return false
	}
	switch {
	case r.i+4 <= len(r.b) && string(r.b[r.i:r.i+4]) == "true":
		r.i += 4
		return true
	case r.i+5 <= len(r.b) && string(r.b[r.i:r.i+5]) == "false":
		r.i += 5
		return false
	}
	r.failed = true
	return false
}

// Time reads a time as encoding/json does (RFC 3339 string); null reads
// as nil.
func (r *Reader) Time() *time.Time {
	if r.failed || r.null() {
		return nil
	}
	if r.peek() != '"' {
		r.failed = true
		return nil
	}
	start := r.i
	end, _ := scanString(r.b, start+1)
	if end < 0 {
		r.failed = true
		return nil
	}
	r.i = end + 1
	t := new(time.Time)
	if err := t.UnmarshalJSON(r.b[start:r.i]); err != nil {
		r.failed = true
		return nil
	}
	return t
}

// Raw reads any value and returns its bytes (null included), as a
// json.RawMessage field holds it.
func (r *Reader) Raw() []byte {
	if r.failed {
		return nil
	}
	r.ws()
	start := r.i
	r.Skip()
	if r.failed {
		return nil
	}
	return r.b[start:r.i]
}

// End checks that nothing but white space follows the document.
func (r *Reader) End() {
	if r.failed {
		return
	}
	r.ws()
	if r.i != len(r.b) {
		r.failed = true
	}
}

// Skip reads past one value, checking that it is valid JSON.
func (r *Reader) Skip() {
	if r.failed {
		return
	}
	i, ok := skipValue(r.b, r.i, r.depth)
	if !ok {
		r.failed = true
		return
	}
	r.i = i
}

func (r *Reader) number() bool {
	i, ok := skipNumber(r.b, r.i)
	if !ok {
		return false
	}
	r.i = i
	return true
}

// Valid reports whether b is one valid JSON value with optional white space
// around it: exactly json.Valid, faster.
func Valid(b []byte) bool {
	r := Reader{b: b}
	r.ws()
	r.Skip()
	r.End()
	return !r.failed
}

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// special marks, in each byte of v, whether it is '"', '\\' or a control
// character: exact for the lowest marked byte (higher marks may be false
// positives, which scanString re-checks byte by byte).
func special(v uint64) uint64 {
	q := v ^ (lsb * '"')
	bs := v ^ (lsb * '\\')
	return ((q - lsb) &^ q & msb) | ((bs - lsb) &^ bs & msb) | ((v - lsb*0x20) &^ v & msb)
}

// scanString finds the closing quote of the string whose contents start at
// b[i]. It returns its index (or -1 for an invalid or unterminated string)
// and whether the string holds escapes.
func scanString(b []byte, i int) (end int, escaped bool) {
	for {
		for i+8 <= len(b) {
			m := special(binary.LittleEndian.Uint64(b[i:]))
			if m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				break
			}
			i += 8
		}
		if i >= len(b) {
			return -1, escaped
		}
		switch c := b[i]; {
		case c == '"':
			return i, escaped
		case c == '\\':
			escaped = true
			if i+1 >= len(b) {
				return -1, escaped
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) || !hex4(b[i+2:i+6]) {
					return -1, escaped
				}
				i += 6
			default:
				return -1, escaped
			}
		case c < 0x20:
			return -1, escaped
		default:
			i++
		}
	}
}

func hex4(b []byte) bool {
	for _, c := range b {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// skipNumber reads a number by JSON's grammar from b[i].
func skipNumber(b []byte, i int) (int, bool) {
	if i < len(b) && b[i] == '-' {
		i++
	}
	if i >= len(b) {
		return i, false
	}
	switch {
	case b[i] == '0':
		i++
	case b[i] >= '1' && b[i] <= '9':
		for i++; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		}
	default:
		return i, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return i, false
		}
		for i++; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return i, false
		}
		for i++; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		}
	}
	return i, true
}

// skipValue reads one value from b[i] (white space before it allowed),
// inside depth containers, without recursion: containers are tracked on a
// stack of their closing bytes.
func skipValue(b []byte, i, depth int) (int, bool) {
	var stack []byte
	var small [64]byte
	stack = small[:0]
	for {
		// A value.
		for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
			i++
		}
		if i >= len(b) {
			return i, false
		}
		switch c := b[i]; c {
		case '"':
			end, _ := scanString(b, i+1)
			if end < 0 {
				return i, false
			}
			i = end + 1
		case '{', '[':
			if depth+len(stack) >= maxDepth {
				return i, false
			}
			i++
			for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
				i++
			}
			if c == '{' {
				stack = append(stack, '}')
				if i < len(b) && b[i] == '}' {
					i++
					stack = stack[:len(stack)-1]
					break
				}
				var ok bool
				if i, ok = objectKey(b, i); !ok {
					return i, false
				}
				continue
			}
			stack = append(stack, ']')
			if i < len(b) && b[i] == ']' {
				i++
				stack = stack[:len(stack)-1]
				break
			}
			continue
		case 't':
			if i+4 > len(b) || string(b[i:i+4]) != "true" {
				return i, false
			}
			i += 4
		case 'f':
			if i+5 > len(b) || string(b[i:i+5]) != "false" {
				return i, false
			}
			i += 5
		case 'n':
			if i+4 > len(b) || string(b[i:i+4]) != "null" {
				return i, false
			}
			i += 4
		default:
			var ok bool
			if i, ok = skipNumber(b, i); !ok {
				return i, false
			}
		}
		// After a value: close containers, or go on to the next member
		// or element.
		for {
			if len(stack) == 0 {
				return i, true
			}
			for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
				i++
			}
			if i >= len(b) {
				return i, false
			}
			top := stack[len(stack)-1]
			if b[i] == top {
				i++
				stack = stack[:len(stack)-1]
				continue
			}
			if b[i] != ',' {
				return i, false
			}
			i++
			if top == '}' {
				for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
					i++
				}
				var ok bool
				if i, ok = objectKey(b, i); !ok {
					return i, false
				}
			}
			break
		}
	}
}

// objectKey reads `"key" :` from b[i] and returns the index after the colon.
func objectKey(b []byte, i int) (int, bool) {
	if i >= len(b) || b[i] != '"' {
		return i, false
	}
	end, _ := scanString(b, i+1)
	if end < 0 {
		return i, false
	}
	i = end + 1
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	if i >= len(b) || b[i] != ':' {
		return i, false
	}
	return i + 1, true
}
