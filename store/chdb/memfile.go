package chdb

import (
	"fmt"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"
)

// Large inserts reach the engine through a memory file rather than inside
// the statement. The engine's client splits a statement's inline data at
// the first blank line ("\n\n"), so binary data cannot travel inline, and
// inline text costs it a pass over every byte before parsing; as RowBinary
// in a memfd the rows are length-prefixed bytes it copies straight into
// columns. The file is in memory only, private to the process, and gone
// when its descriptor is closed, crash included.

// fileInsertMin is the RowBinary size from which an insert goes through a
// memory file; smaller ones stay inline JSON, where the file's extra
// statement plan would cost more than it saves.
const fileInsertMin = 64 << 10

// memFile is one memfd, reused: each insert overwrites it from offset 0
// and truncates it to its data, so its pages are allocated once.
type memFile struct {
	fd   int
	path string // /proc/self/fd/N: how the engine's file() opens it
	size int    // bytes it holds
}

// keepMemFile is the largest memory file kept for reuse as it is; a larger
// one is emptied when returned, so a rare huge insert does not hold its
// memory.
const keepMemFile = 32 << 20

func newMemFile() (*memFile, error) {
	fd, err := unix.MemfdCreate("changeproof-insert", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("memfd_create: %w", err)
	}
	return &memFile{fd: fd, path: "/proc/self/fd/" + strconv.Itoa(fd)}, nil
}

func (f *memFile) set(data []byte) error {
	for off := 0; off < len(data); {
		n, err := unix.Pwrite(f.fd, data[off:], int64(off))
		if err != nil {
			return fmt.Errorf("write insert data: %w", err)
		}
		off += n
	}
	if err := unix.Ftruncate(f.fd, int64(len(data))); err != nil {
		return fmt.Errorf("size insert data: %w", err)
	}
	f.size = len(data)
	return nil
}

func (f *memFile) close() { unix.Close(f.fd) }

// memFiles is a pool of memory files, one per insert in flight.
type memFiles struct {
	mu   sync.Mutex
	free []*memFile
}

func (p *memFiles) get() (*memFile, error) {
	p.mu.Lock()
	if n := len(p.free); n > 0 {
		f := p.free[n-1]
		p.free = p.free[:n-1]
		p.mu.Unlock()
		return f, nil
	}
	p.mu.Unlock()
	return newMemFile()
}

func (p *memFiles) put(f *memFile) {
	if f.size > keepMemFile {
		if unix.Ftruncate(f.fd, 0) != nil {
			f.close()
			return
		}
		f.size = 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.free) >= 8 {
		f.close()
		return
	}
	p.free = append(p.free, f)
}

func (p *memFiles) closeAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, f := range p.free {
		f.close()
	}
	p.free = nil
}
