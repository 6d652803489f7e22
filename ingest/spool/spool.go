// Package spool is the embedded mode's durable log: accepted events of
// every source (webhook deliveries, deploy lines, access events) are
// appended to local segment files and fsynced before the sender is
// answered, and a loader moves them into the store in large
// batches afterwards. It does for one machine what Kafka does for a
// cluster: a 202 costs one sequential write and one fsync instead of the
// engine's part creation for every table a delivery touches (which, at
// 2,000 deliveries/s on two cores, took the accept p99 far past 50 ms).
//
// Format: segments named by the global offset of their first byte
// (%020d.log), each a sequence of records
//
//	uint32 length | uint32 CRC-32C of payload | payload
//
// with the payload one record of the evidence log, any source (see
// appendRecord): source, event, id, sha256, receipt time, body, and the
// receiver's parse of the body (Meta) when there is one. A record whose
// body is large (webhook deliveries) is stored zstd-compressed: the top
// bit of its length word says so, and the checksum covers the compressed
// bytes (appendCompressed). Earlier versions cannot read such records and
// would cut them off as a torn tail: before running an earlier version,
// stop serve once everything accepted is loaded (the spool is empty). A torn tail (a
// crash during a write) fails its length or checksum and is cut off at
// Open; nothing before it was acknowledged. The loader's position is kept
// in "loaded" (written after each successful load, without fsync: losing
// it replays records the store already has, which the pipeline drops as
// duplicates by source and id). Segments wholly loaded are deleted.
package spool

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/changeproof/changeproof/internal/clock"
	"github.com/changeproof/changeproof/model"
)

// Options tune a Spool; zero values take the defaults.
type Options struct {
	// SegmentBytes starts a new segment once the current one is this large.
	// Default 64 MiB.
	SegmentBytes int64
	// MaxBacklog is how many bytes may wait to be loaded before Accept
	// blocks (back-pressure on the senders, who then see slower answers or
	// time out and retry: nothing accepted is dropped). Default 512 MiB.
	MaxBacklog int64
	// MaxBatch bounds the deliveries handed to one load (default 5,000),
	// and MaxBatchBytes their bytes (default 32 MiB), which bounds the
	// loader's memory whatever the deliveries' sizes.
	MaxBatch      int
	MaxBatchBytes int64
	// Linger is the least time between the starts of two loads while less
	// than a full batch waits (default 100 ms; negative: none). Each load
	// costs the engine a part per table whatever its size, so under load
	// fewer, larger loads leave the CPU to the receiver; an idle spool
	// loads a new delivery at once.
	Linger time.Duration
	// NoSync skips fsync: tests of other behaviour only.
	NoSync bool
}

func (o Options) withDefaults() Options {
	if o.SegmentBytes <= 0 {
		o.SegmentBytes = 64 << 20
	}
	if o.MaxBacklog <= 0 {
		o.MaxBacklog = 512 << 20
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 5000
	}
	if o.MaxBatchBytes <= 0 {
		o.MaxBatchBytes = 32 << 20
	}
	if o.Linger == 0 {
		o.Linger = 100 * time.Millisecond
	}
	return o
}

// Spool is a directory of segments. Accept and Run may be called
// concurrently (one Run at a time); all methods are safe for concurrent use.
type Spool struct {
	dir string
	o   Options

	mu      sync.Mutex
	changed *sync.Cond // written or loaded moved, or closed
	segs    []int64    // start offsets of the segments on disk, ascending
	w       *os.File   // the last segment, open for appending
	written int64      // global offset just past the last complete record
	loaded  int64      // global offset just past the last loaded record
	closed  bool
	// Records appended and loaded since Open: with many small records
	// (access events) a batch's worth of records waits long before a
	// batch's worth of bytes does.
	appendedN, loadedN int64
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrClosed is returned by Accept and WaitLoaded after Close.
var ErrClosed = errors.New("spool: closed")

// Open opens (creating it if needed) the spool in dir, cutting off a torn
// tail left by a crash.
func Open(dir string, o Options) (*Spool, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	s := &Spool{dir: dir, o: o.withDefaults()}
	s.changed = sync.NewCond(&s.mu)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	for _, e := range ents {
		if start, ok := strings.CutSuffix(e.Name(), ".log"); ok {
			n, err := strconv.ParseInt(start, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("spool: unexpected file %s", e.Name())
			}
			s.segs = append(s.segs, n)
		}
	}
	sort.Slice(s.segs, func(i, j int) bool { return s.segs[i] < s.segs[j] })
	if len(s.segs) == 0 {
		s.segs = []int64{0}
	}
	last := s.segs[len(s.segs)-1]
	f, err := os.OpenFile(s.segPath(last), os.O_CREATE|os.O_RDWR, 0o640)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	good, err := validLength(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("spool: recover %s: %w", s.segPath(last), err)
	}
	if err := f.Truncate(good); err != nil {
		f.Close()
		return nil, fmt.Errorf("spool: cut torn tail: %w", err)
	}
	if _, err := f.Seek(good, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	s.w, s.written = f, last+good
	s.loaded = s.segs[0]
	if b, err := os.ReadFile(filepath.Join(dir, "loaded")); err == nil {
		if n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && n >= s.loaded && n <= s.written {
			s.loaded = n
		}
	}
	return track(s), nil
}

func (s *Spool) segPath(start int64) string {
	return filepath.Join(s.dir, fmt.Sprintf("%020d.log", start))
}

// validLength returns the length of f's prefix made of complete records
// with correct checksums.
func validLength(f *os.File) (int64, error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return 0, err
	}
	r := &countingReader{r: f}
	for {
		start := r.n
		if _, err := readRecord(r); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, errCorrupt) {
				return start, nil
			}
			return 0, err
		}
	}
}

var errCorrupt = errors.New("spool: corrupt record")

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// Backlog returns the bytes appended but not yet loaded.
func (s *Spool) Backlog() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.written - s.loaded
}

// Accept implements ingest.Sink: it appends ds and returns once they are on
// disk (fsync), so the sender may be told they were accepted. It blocks
// while the backlog exceeds Options.MaxBacklog (until ctx ends).
func (s *Spool) Accept(ctx context.Context, ds []model.Delivery) error {
	if len(ds) == 0 {
		return nil
	}
	// Sized once: a group commit of a few hundred 25 KB deliveries grown by
	// append was copied several times over, on the receivers' path.
	size := 0
	for _, d := range ds {
		if n := recordSize(d); len(d.Body) < compressMin {
			size += n
		} else {
			size += n / 3 // webhook bodies compress to about 0.18
		}
	}
	buf := make([]byte, 0, size)
	var scratch []byte
	for _, d := range ds {
		buf, scratch = appendCompressed(buf, scratch, d)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for !s.closed && s.written-s.loaded > s.o.MaxBacklog {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("spool: backlog of %d bytes: %w", s.written-s.loaded, err)
		}
		s.waitCtx(ctx)
	}
	if s.closed {
		return ErrClosed
	}
	if cur := s.segs[len(s.segs)-1]; s.written-cur >= s.o.SegmentBytes {
		if err := s.rotate(); err != nil {
			return err
		}
	}
	// One write and one fsync for the whole group commit. The mutex is held
	// through the fsync: Accept calls come one at a time from the
	// committer, and the loader only needs the lock briefly.
	if _, err := s.w.Write(buf); err != nil {
		s.cutBack()
		return fmt.Errorf("spool: append: %w", err)
	}
	if !s.o.NoSync {
		if err := s.w.Sync(); err != nil {
			s.cutBack()
			return fmt.Errorf("spool: fsync: %w", err)
		}
	}
	s.written += int64(len(buf))
	s.appendedN += int64(len(ds))
	s.changed.Broadcast()
	return nil
}

// cutBack drops a partly written group after a failed write, so the next
// group does not follow garbage.
func (s *Spool) cutBack() {
	cur := s.segs[len(s.segs)-1]
	_ = s.w.Truncate(s.written - cur)
	_, _ = s.w.Seek(s.written-cur, io.SeekStart)
}

func (s *Spool) rotate() error {
	if !s.o.NoSync {
		if err := s.w.Sync(); err != nil {
			return fmt.Errorf("spool: fsync: %w", err)
		}
	}
	f, err := os.OpenFile(s.segPath(s.written), os.O_CREATE|os.O_RDWR|os.O_TRUNC, 0o640)
	if err != nil {
		return fmt.Errorf("spool: new segment: %w", err)
	}
	if !s.o.NoSync { // the new file's directory entry must survive a crash too
		if d, err := os.Open(s.dir); err == nil {
			_ = d.Sync()
			d.Close()
		}
	}
	s.w.Close()
	s.w = f
	s.segs = append(s.segs, s.written)
	return nil
}

// waitCtx waits on changed, waking when ctx ends. Called with mu held.
func (s *Spool) waitCtx(ctx context.Context) {
	stop := context.AfterFunc(ctx, func() {
		s.mu.Lock()
		s.changed.Broadcast()
		s.mu.Unlock()
	})
	s.changed.Wait()
	stop()
}

// Run loads what is appended into load, in order, in batches of up to
// Options.MaxBatch deliveries, until ctx ends (it returns ctx's error) or the
// spool is closed (nil). After each successful load it records the new
// position and deletes segments wholly loaded. A failing load is retried
// with capped backoff and never skipped: load must be idempotent (the
// pipeline is, by delivery id), since a crash can replay a batch.
func (s *Spool) Run(ctx context.Context, load func(ctx context.Context, ds []model.Delivery) error) error {
	backoff := 100 * time.Millisecond
	var last time.Time
	for {
		if wait := s.o.Linger - time.Since(last); wait > 0 {
			if err := s.linger(ctx, wait); err != nil {
				return err
			}
		}
		ds, end, err := s.next(ctx)
		if err != nil || ds == nil {
			return err
		}
		last = time.Now()
		for {
			if err := load(ctx, ds); err == nil {
				break
			} else if ctx.Err() != nil {
				return ctx.Err()
			}
			if err := clock.Sleep(ctx, backoff); err != nil {
				return err
			}
			backoff = min(2*backoff, 5*time.Second)
		}
		backoff = 100 * time.Millisecond
		if err := s.advance(end, len(ds)); err != nil {
			return err
		}
	}
}

// linger waits up to d for a batch to fill: it returns early once a
// batch's worth of bytes or of records waits, or the spool is closing and
// should drain. (Lingering lets small loads grow; a full one gains nothing
// by waiting, and waiting capped the loader at MaxBatch records per
// Linger.) It returns ctx's error if ctx ends first.
func (s *Spool) linger(ctx context.Context, d time.Duration) error {
	tctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	s.mu.Lock()
	defer s.mu.Unlock()
	for !s.closed && s.written-s.loaded < s.o.MaxBatchBytes && s.appendedN-s.loadedN < int64(s.o.MaxBatch) && tctx.Err() == nil {
		s.waitCtx(tctx)
	}
	return ctx.Err()
}

// next waits for unloaded records and reads up to MaxBatch of them,
// returning them and the offset just past the last. nil deliveries and a
// nil error: the spool was closed.
func (s *Spool) next(ctx context.Context) ([]model.Delivery, int64, error) {
	s.mu.Lock()
	for !s.closed && s.written == s.loaded && ctx.Err() == nil {
		s.waitCtx(ctx)
	}
	if err := ctx.Err(); err != nil {
		s.mu.Unlock()
		return nil, 0, err
	}
	if s.written == s.loaded { // closed with nothing left
		s.mu.Unlock()
		return nil, 0, nil
	}
	from, to := s.loaded, s.written
	segs := append([]int64(nil), s.segs...)
	s.mu.Unlock()

	var out []model.Delivery
	pos, start := from, from
	full := func() bool { return len(out) >= s.o.MaxBatch || pos-start >= s.o.MaxBatchBytes }
	for pos < to && !full() {
		i := sort.Search(len(segs), func(i int) bool { return segs[i] > pos }) - 1
		segEnd := to
		if i+1 < len(segs) {
			segEnd = min(segs[i+1], to)
		}
		f, err := os.Open(s.segPath(segs[i]))
		if err != nil {
			return nil, 0, fmt.Errorf("spool: %w", err)
		}
		// Buffered: a record is two reads (header, payload), and access
		// records are a few hundred bytes each.
		r := &countingReader{r: bufio.NewReaderSize(io.NewSectionReader(f, pos-segs[i], segEnd-pos), 1<<20)}
		for pos < segEnd && !full() {
			d, err := readRecord(r)
			if err != nil {
				f.Close()
				return nil, 0, fmt.Errorf("spool: read at offset %d: %w", pos, err)
			}
			out = append(out, d)
			pos = from + r.n
		}
		f.Close()
		from = pos
	}
	return out, pos, nil
}

// advance records that everything before end is loaded and deletes the
// segments that lie wholly before it.
func (s *Spool) advance(end int64, n int) error {
	tmp := filepath.Join(s.dir, "loaded.tmp")
	if err := os.WriteFile(tmp, []byte(strconv.FormatInt(end, 10)), 0o640); err != nil {
		return fmt.Errorf("spool: record position: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(s.dir, "loaded")); err != nil {
		return fmt.Errorf("spool: record position: %w", err)
	}
	// Segments go before the position is published, so whoever waits for
	// it (WaitLoaded) finds them gone. Only Run reads, and only past end;
	// Accept only writes the last segment, which is never removed. They go
	// without the lock: unlinking a 64 MiB segment took 22 ms, during
	// which every Accept, and every sender, waited.
	s.mu.Lock()
	segs := s.segs
	s.mu.Unlock()
	gone := 0
	for len(segs) > gone+1 && segs[gone+1] <= end {
		_ = os.Remove(s.segPath(segs[gone]))
		gone++
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.segs = s.segs[gone:]
	s.loaded = end
	s.loadedN += int64(n)
	s.changed.Broadcast()
	return nil
}

// WaitLoaded blocks until everything appended before the call is loaded
// (by Run, which must be running) or ctx ends.
func (s *Spool) WaitLoaded(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	target := s.written
	for s.loaded < target {
		if err := ctx.Err(); err != nil {
			return err
		}
		s.waitCtx(ctx)
	}
	return nil
}

// Close stops Accept (ErrClosed) and lets Run return once it has loaded
// what was appended; it does not wait for that.
func (s *Spool) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	s.changed.Broadcast()
	untrack(s)
	return s.w.Close()
}

// recordSize bounds the bytes appendRecord adds for d.
func recordSize(d model.Delivery) int {
	return 8 + 6*binary.MaxVarintLen64 + len(d.Source) + len(d.Event) + len(d.DeliveryID) + len(d.SHA256) + len(d.Body) + len(d.Meta)
}

// appendRecord encodes d as one record.
func appendRecord(buf []byte, d model.Delivery) []byte {
	start := len(buf)
	buf = append(buf, make([]byte, 8)...)
	for _, f := range []string{d.Source, d.Event, d.DeliveryID, d.SHA256} {
		buf = binary.AppendUvarint(buf, uint64(len(f)))
		buf = append(buf, f...)
	}
	buf = binary.AppendVarint(buf, d.ReceivedAt.UnixNano())
	buf = binary.AppendUvarint(buf, uint64(len(d.Body)))
	buf = append(buf, d.Body...)
	if len(d.Meta) > 0 {
		buf = binary.AppendUvarint(buf, uint64(len(d.Meta)))
		buf = append(buf, d.Meta...)
	}
	payload := buf[start+8:]
	binary.LittleEndian.PutUint32(buf[start:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(buf[start+4:], crc32.Checksum(payload, castagnoli))
	return buf
}

// compressMin is the body size from which a record is stored compressed.
// Webhook bodies (7-25 KB of JSON) shrink to about 0.18 with zstd as
// zstdEncoder sets it, about 30 µs each, and in a closed loop the group
// commit's write and fsync of their bytes was the receivers' bound
// (docs/performance.md).
// Access events and deploy lines are a few hundred bytes, arrive by the
// hundred thousand per second, and would gain little: they stay plain.
const compressMin = 4 << 10

// compressedBit, in a record's length word, marks a compressed payload.
const compressedBit = 1 << 31

var (
	// Fastest level, without the literals' entropy coding and without the
	// frame's own checksum (the record's CRC-32C covers the compressed
	// bytes): 29-34 µs per webhook record instead of 43-55 µs, on the
	// committer's one goroutine, and decoding in the loader about half,
	// for 0.18 of the plain bytes instead of 0.16 (docs/performance.md,
	// session 7). Still plain zstd frames: every version reads them.
	zstdEncoder = sync.OnceValues(func() (*zstd.Encoder, error) {
		return zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1),
			zstd.WithNoEntropyCompression(true), zstd.WithEncoderCRC(false))
	})
	// The decoder allocates no more than a record may hold (1 GiB, the
	// length check above); the checksum is verified before it runs.
	zstdDecoder = sync.OnceValues(func() (*zstd.Decoder, error) {
		return zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(1<<30))
	})
)

// appendCompressed appends d's record to buf, compressed when its body is
// at least compressMin and compressing saves bytes. scratch is a buffer
// to reuse for the plain record; the grown one is returned.
func appendCompressed(buf, scratch []byte, d model.Delivery) ([]byte, []byte) {
	if len(d.Body) < compressMin {
		return appendRecord(buf, d), scratch
	}
	enc, err := zstdEncoder()
	if err != nil {
		return appendRecord(buf, d), scratch
	}
	scratch = appendRecord(scratch[:0], d)
	plain := scratch[8:]
	start := len(buf)
	buf = append(buf, make([]byte, 8)...)
	buf = enc.EncodeAll(plain, buf)
	payload := buf[start+8:]
	if len(payload) >= len(plain) || len(payload) > 1<<30 {
		return append(buf[:start], scratch...), scratch
	}
	binary.LittleEndian.PutUint32(buf[start:], uint32(len(payload))|compressedBit)
	binary.LittleEndian.PutUint32(buf[start+4:], crc32.Checksum(payload, castagnoli))
	return buf, scratch
}

// readRecord reads one record. io.EOF: none left; io.ErrUnexpectedEOF or
// errCorrupt: a torn or damaged record.
func readRecord(r io.Reader) (model.Delivery, error) {
	var h [8]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return model.Delivery{}, err
	}
	n := binary.LittleEndian.Uint32(h[:4])
	compressed := n&compressedBit != 0
	n &^= compressedBit
	if n > 1<<30 {
		return model.Delivery{}, errCorrupt
	}
	p, err := readPayload(r, int(n))
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return model.Delivery{}, err
	}
	if crc32.Checksum(p, castagnoli) != binary.LittleEndian.Uint32(h[4:]) {
		return model.Delivery{}, errCorrupt
	}
	if compressed {
		dec, err := zstdDecoder()
		if err != nil {
			return model.Delivery{}, err
		}
		if p, err = dec.DecodeAll(p, nil); err != nil {
			return model.Delivery{}, errCorrupt
		}
	}
	var d model.Delivery
	fields := []*string{&d.Source, &d.Event, &d.DeliveryID, &d.SHA256}
	for _, f := range fields {
		l, k := binary.Uvarint(p)
		if k <= 0 || uint64(len(p)-k) < l {
			return model.Delivery{}, errCorrupt
		}
		*f, p = string(p[k:k+int(l)]), p[k+int(l):]
	}
	ns, k := binary.Varint(p)
	if k <= 0 {
		return model.Delivery{}, errCorrupt
	}
	d.ReceivedAt = time.Unix(0, ns).UTC()
	p = p[k:]
	l, k := binary.Uvarint(p)
	if k <= 0 || uint64(len(p)-k) < l {
		return model.Delivery{}, errCorrupt
	}
	d.Body, p = p[k:k+int(l)], p[k+int(l):]
	if len(p) > 0 { // Meta, absent from records written before it existed
		l, k := binary.Uvarint(p)
		if k <= 0 || uint64(len(p)-k) != l {
			return model.Delivery{}, errCorrupt
		}
		d.Meta = p[k:]
	}
	return d, nil
}
