package audit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/changeproof/changeproof/internal/csvsafe"
)

// walked is what reading the population leaves: its size and the SHA-256
// of population.csv, the sample, and per header column naming a rule the
// number of members per value (nil for the other columns).
type walked struct {
	size   int
	sha256 string
	sample []drawEntry[kept]
	counts []map[string]int
}

// kept is what the export keeps of a drawn member besides its subject.
type kept struct {
	at     time.Time
	values []string
}

// stream reads the population in subject order, checks every member,
// writes population.csv to dst as the members pass and draws the sample
// from them. Only the sample stays in memory.
func stream(ctx context.Context, src Source, p *plan, dst io.Writer) (*walked, error) {
	out := newPipe(dst)
	closed := false
	defer func() {
		if !closed {
			_, _ = out.close()
		}
	}()
	w := &walker{p: p, out: out, draw: newDrawer[kept](p.m.Seed, p.m.SampleSizeRequested),
		tallies: make([]*tally, len(p.hdr))}
	for i, h := range p.hdr {
		if ruleKey.MatchString(h) {
			w.tallies[i] = &tally{}
		}
	}
	w.buf = appendCSVRecord(w.buf, append([]string{"subject", "occurred_at"}, p.hdr...))
	if err := walk(ctx, src, p, w.member); err != nil {
		if out.failed.Load() {
			closed = true
			_, derr := out.close()
			return nil, fmt.Errorf("write %s: %w", populationFile, derr)
		}
		if w.failed != nil && errors.Is(err, w.failed) {
			return nil, w.failed
		}
		return nil, fmt.Errorf("population %s: %w", p.pop, err)
	}
	if _, err := out.Write(w.buf); err != nil {
		return nil, fmt.Errorf("write %s: %w", populationFile, err)
	}
	closed = true
	sum, err := out.close()
	if err != nil {
		return nil, fmt.Errorf("write %s: %w", populationFile, err)
	}
	res := &walked{size: w.size, sha256: sum, sample: w.draw.result(), counts: make([]map[string]int, len(p.hdr))}
	for i, t := range w.tallies {
		if t != nil {
			res.counts[i] = t.counts()
		}
	}
	return res, nil
}

// walk hands the population to fn in subject order: straight from a
// Walker, else from Population, sorted here.
func walk(ctx context.Context, src Source, p *plan, fn func(string, time.Time, []string) error) error {
	if w, ok := src.(Walker); ok {
		return w.Walk(ctx, p.pop, p.req.From, p.req.To, fn)
	}
	members, err := src.Population(ctx, p.pop, p.req.From, p.req.To)
	if err != nil {
		return err
	}
	members = append([]Member(nil), members...)
	sortBySubject(members)
	index := make(map[string]int, len(p.hdr))
	for i, n := range p.hdr {
		index[n] = i
	}
	for i, mb := range members {
		values, err := row(mb, p.hdr, index)
		if err != nil {
			// A member wrong in several ways is reported as the checks
			// below would report it first.
			prev := ""
			if i > 0 {
				prev = members[i-1].Subject
			}
			if cerr := p.check(i, prev, mb.Subject, mb.OccurredAt); cerr != nil {
				return cerr
			}
			return err
		}
		if err := fn(mb.Subject, mb.OccurredAt, values); err != nil {
			return err
		}
	}
	return nil
}

// check is what every member of the population must satisfy; i is its
// position and prev the subject before it.
func (p *plan) check(i int, prev, subject string, at time.Time) error {
	switch {
	case subject == "":
		return fmt.Errorf("population %s: a member has no subject", p.pop)
	case i > 0 && prev == subject:
		return fmt.Errorf("population %s: subject %s appears twice", p.pop, subject)
	case i > 0 && subject < prev:
		return fmt.Errorf("population %s: member %s comes after %s: the source did not list its members in subject order", p.pop, subject, prev)
	case at.IsZero():
		return fmt.Errorf("population %s: member %s has no occurred_at", p.pop, subject)
	case at.Before(p.req.From) || at.After(p.req.To):
		return fmt.Errorf("population %s: member %s occurred at %s, outside the period", p.pop, subject,
			at.UTC().Format(time.RFC3339Nano))
	}
	return nil
}

// walker takes the members one by one.
type walker struct {
	p       *plan
	out     *pipe
	buf     []byte // population.csv not yet handed to out
	draw    *drawer[kept]
	tallies []*tally
	size    int
	prev    string
	failed  error // the error member returned, to tell it from the source's
}

func (w *walker) member(subject string, at time.Time, values []string) error {
	if err := w.p.check(w.size, w.prev, subject, at); err != nil {
		w.failed = err
		return err
	}
	if len(values) != len(w.p.hdr) {
		w.failed = fmt.Errorf("population %s: member %s has %d values for the %d columns %s", w.p.pop, subject,
			len(values), len(w.p.hdr), strings.Join(w.p.hdr, ", "))
		return w.failed
	}
	b := appendCSVField(w.buf, subject)
	b = at.UTC().AppendFormat(append(b, ','), time.RFC3339Nano) // as csvTime; nothing in it needs quotes
	for _, v := range values {
		b = appendCSVField(append(b, ','), v)
	}
	w.buf = append(b, '\n')
	if len(w.buf) >= 64<<10 {
		if _, err := w.out.Write(w.buf); err != nil {
			w.failed = fmt.Errorf("write %s: %w", populationFile, err)
			return w.failed
		}
		w.buf = w.buf[:0]
	}
	for i, t := range w.tallies {
		if t != nil {
			t.add(values[i])
		}
	}
	if key, ok := w.draw.consider(subject); ok {
		// The source's strings may share memory with much more than the
		// member: keep copies.
		vs := make([]string, len(values))
		for i, v := range values {
			vs[i] = strings.Clone(v)
		}
		w.draw.add(key, strings.Clone(subject), kept{at: at.UTC(), values: vs})
	}
	w.prev = subject
	w.size++
	return nil
}

// tally counts the members per value of one column. A rule's column holds
// a handful of outcomes, so a short list beats a map until it is not.
type tally struct {
	vals []string
	n    []int
	many map[string]int
}

func (t *tally) add(v string) {
	if t.many != nil {
		t.many[v]++
		return
	}
	for i, x := range t.vals {
		if x == v {
			t.n[i]++
			return
		}
	}
	if len(t.vals) == 16 {
		t.many = t.counts()
		t.many[v]++
		return
	}
	t.vals = append(t.vals, strings.Clone(v))
	t.n = append(t.n, 1)
}

func (t *tally) counts() map[string]int {
	if t.many != nil {
		return t.many
	}
	m := make(map[string]int, len(t.vals))
	for i, v := range t.vals {
		m[v] = t.n[i]
	}
	return m
}

// pipe hands population.csv to its destination on another goroutine in
// chunks, hashing it on the way: the population is read, checked and
// rendered on one core while the file is deflated (or written) on another.
type pipe struct {
	dst    io.Writer
	cur    []byte
	full   chan []byte
	free   chan []byte
	done   chan struct{}
	sha    hash.Hash
	err    error // the destination's, set before done closes
	failed atomic.Bool
}

const (
	pipeChunk  = 1 << 20
	pipeChunks = 4
)

var errPipe = errors.New("the destination failed")

func newPipe(dst io.Writer) *pipe {
	p := &pipe{dst: dst, full: make(chan []byte, pipeChunks-1), free: make(chan []byte, pipeChunks),
		done: make(chan struct{}), sha: sha256.New()}
	for range pipeChunks - 1 {
		p.free <- make([]byte, 0, pipeChunk)
	}
	p.cur = make([]byte, 0, pipeChunk)
	go p.run()
	return p
}

func (p *pipe) run() {
	defer close(p.done)
	for b := range p.full {
		p.sha.Write(b)
		if p.err == nil {
			if _, err := p.dst.Write(b); err != nil {
				p.err = err
				p.failed.Store(true)
			}
		}
		p.free <- b[:0]
	}
}

// Write implements io.Writer; it fails once the destination has.
func (p *pipe) Write(b []byte) (int, error) {
	if p.failed.Load() {
		return 0, errPipe
	}
	n := len(b)
	for len(b) > 0 {
		if len(p.cur) == cap(p.cur) {
			p.full <- p.cur
			p.cur = <-p.free
		}
		k := min(cap(p.cur)-len(p.cur), len(b))
		p.cur = append(p.cur, b[:k]...)
		b = b[k:]
	}
	return n, nil
}

// close passes on what is left and waits for the destination: the hex
// SHA-256 of everything written, or the destination's error.
func (p *pipe) close() (string, error) {
	if len(p.cur) > 0 {
		p.full <- p.cur
	}
	p.cur = nil
	close(p.full)
	<-p.done
	if p.err != nil {
		return "", p.err
	}
	return hex.EncodeToString(p.sha.Sum(nil)), nil
}

// appendCSVRecord appends a record as encoding/csv's Writer writes it with
// its defaults (RFC 4180, comma, "\n" line endings).
func appendCSVRecord(b []byte, fields []string) []byte {
	for i, f := range fields {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendCSVField(b, f)
	}
	return append(b, '\n')
}

// appendCSVField appends one field as encoding/csv writes it, after
// csvsafe.Cell has neutralised a leading formula character: quoted when it
// holds a comma, a quote, a CR or an LF, starts with a space character or
// is \. , quotes inside doubled, everything else as is.
func appendCSVField(b []byte, f string) []byte {
	f = csvsafe.Cell(f)
	if !csvNeedsQuotes(f) {
		return append(b, f...)
	}
	b = append(b, '"')
	for {
		i := strings.IndexByte(f, '"')
		if i < 0 {
			break
		}
		b = append(append(b, f[:i+1]...), '"')
		f = f[i+1:]
	}
	return append(append(b, f...), '"')
}

func csvNeedsQuotes(f string) bool {
	if f == "" {
		return false
	}
	if f == `\.` {
		return true
	}
	for i := 0; i < len(f); i++ {
		if c := f[i]; c == '\n' || c == '\r' || c == '"' || c == ',' {
			return true
		}
	}
	r, _ := utf8.DecodeRuneInString(f)
	return unicode.IsSpace(r)
}
