package chdb

import (
	"context"
	"fmt"

	"github.com/changeproof/changeproof/store"
)

var _ store.RowStreamer = (*DB)(nil)

// streamFormat is how streamed rows travel: RowBinary needs no escaping
// (every string is its length, then its bytes) and the header names the
// columns' types, so a column that is not a String is caught, not misread.
const streamFormat = "RowBinaryWithNamesAndTypes"

// StreamRows implements store.RowStreamer. The engine hands the result over
// in chunks as it produces them; each chunk is parsed and its rows passed
// to fn before the next is fetched, so memory holds one chunk, not the
// result. The connection is held for the whole walk. An engine without the
// streaming API answers in one piece, parsed the same way.
func (db *DB) StreamRows(ctx context.Context, query string, params store.Params, fn func(row []string) error) error {
	e, err := db.get(ctx)
	if err != nil {
		return err
	}
	defer db.put(e)
	names, values := sortedParams(params)
	var p streamParser
	whole := func() error {
		var out []byte
		var err error
		call(ctx, func() { out, err = e.queryParams(query, streamFormat, names, values) })
		if err != nil || len(out) == 0 {
			return err
		}
		return p.feed(string(out), fn)
	}
	if !canStream() {
		return whole()
	}
	var s *rowStream
	call(ctx, func() { s, err = e.streamQuery(query, streamFormat, names, values) })
	if err != nil {
		return err
	}
	// The next chunk is fetched (the engine formats it) while this one is
	// parsed and handed over: two cores at work. Calls on the connection
	// stay one at a time: the fetcher has ended before the stream closes.
	type fetched struct {
		chunk string
		err   error
	}
	next := make(chan fetched, 1)
	stop, fetcherDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(fetcherDone)
		for {
			var chunk string
			var err error
			call(ctx, func() { chunk, err = s.fetch() })
			select {
			case next <- fetched{chunk, err}:
			case <-stop:
				return
			}
			if err != nil || chunk == "" {
				return
			}
		}
	}()
	defer func() {
		close(stop)
		<-fetcherDone
		s.close()
	}()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		f := <-next
		if f.err != nil || f.chunk == "" {
			s.done = true // the stream is over: nothing to cancel
		}
		if f.err != nil && p.rows == 0 {
			// A stream of no rows does not end with an empty chunk: after
			// the header, the fetch finds "No active streaming query". Asked
			// again in one piece, the query answers for itself, empty or
			// (should the stream have failed for another reason) not.
			<-fetcherDone
			return whole()
		}
		if f.err != nil {
			return f.err
		}
		if f.chunk == "" {
			return nil
		}
		if err := p.feed(f.chunk, fn); err != nil {
			return err
		}
	}
}

// streamParser reads RowBinaryWithNamesAndTypes documents whose
// columns are all strings. The engine formats every streamed chunk as a
// document of its own, header included, and never cuts a row between
// chunks; a chunk that does not parse whole is an error, not a row to
// complete from the next one.
type streamParser struct {
	row  []string // reused for every row
	rows int      // handed to fn so far
}

func (p *streamParser) feed(doc string, fn func([]string) error) error {
	at, err := p.header(doc)
	if err != nil {
		return err
	}
	for at < len(doc) {
		for i := range p.row {
			s, next, ok := streamString(doc, at)
			if !ok {
				return fmt.Errorf("chdb: streamed chunk ends inside a row (%d bytes left)", len(doc)-at)
			}
			p.row[i] = s
			at = next
		}
		p.rows++
		if err := fn(p.row); err != nil {
			return err
		}
	}
	return nil
}

// header reads the column count, names and types, checks that every column
// is a String and that every chunk has as many columns as the first.
func (p *streamParser) header(doc string) (int, error) {
	n, at, ok := streamUvarint(doc, 0)
	if !ok || n == 0 || n > 1<<16 {
		return 0, fmt.Errorf("chdb: streamed chunk does not start with a header")
	}
	if p.row != nil && uint64(len(p.row)) != n {
		return 0, fmt.Errorf("chdb: streamed chunk has %d columns, the first had %d", n, len(p.row))
	}
	names := make([]string, n)
	for i := range names {
		if names[i], at, ok = streamString(doc, at); !ok {
			return 0, fmt.Errorf("chdb: streamed chunk ends inside its header")
		}
	}
	for i := range names {
		var typ string
		if typ, at, ok = streamString(doc, at); !ok {
			return 0, fmt.Errorf("chdb: streamed chunk ends inside its header")
		}
		if typ != "String" && typ != "LowCardinality(String)" {
			return 0, fmt.Errorf("chdb: streamed column %s is %s; StreamRows reads String columns only", names[i], typ)
		}
	}
	if p.row == nil {
		p.row = make([]string, n)
	}
	return at, nil
}

// streamString reads a RowBinary String at buf[at:]: its length as an
// unsigned LEB128, then its bytes.
func streamString(buf string, at int) (string, int, bool) {
	n, at, ok := streamUvarint(buf, at)
	if !ok || uint64(len(buf)-at) < n {
		return "", 0, false
	}
	end := at + int(n)
	return buf[at:end], end, true
}

func streamUvarint(buf string, at int) (uint64, int, bool) {
	var x uint64
	for shift := uint(0); shift < 64; shift += 7 {
		if at >= len(buf) {
			return 0, 0, false
		}
		b := buf[at]
		at++
		x |= uint64(b&0x7f) << shift
		if b < 0x80 {
			return x, at, true
		}
	}
	return 0, 0, false
}
