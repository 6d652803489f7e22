package ndjson

// Batcher hands what a reader parsed to emit in batches of at most Size
// items, in input order, and counts what emit accepted. emit may keep the
// slice it is given: each batch is a new one. Not safe for concurrent use.
type Batcher[T any] struct {
	size     int
	emit     func([]T) error
	batch    []T
	Accepted int // items in batches emit returned nil for
}

// NewBatcher returns a Batcher of batches of size (at least 1).
func NewBatcher[T any](size int, emit func([]T) error) *Batcher[T] {
	size = max(size, 1)
	return &Batcher[T]{size: size, emit: emit, batch: make([]T, 0, size)}
}

// Add appends v and emits the batch once it is full; the error is emit's.
func (b *Batcher[T]) Add(v T) error {
	b.batch = append(b.batch, v)
	if len(b.batch) >= b.size {
		return b.Flush()
	}
	return nil
}

// Flush emits what is collected, if anything; the error is emit's.
func (b *Batcher[T]) Flush() error {
	if len(b.batch) == 0 {
		return nil
	}
	if err := b.emit(b.batch); err != nil {
		return err
	}
	b.Accepted += len(b.batch)
	b.batch = make([]T, 0, b.size)
	return nil
}
