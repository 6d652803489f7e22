package store

import "context"

// ChainHeadRow is the last link of one chain of the raw log.
type ChainHeadRow struct {
	Chain string // "" is the single chain of the embedded mode
	Seq   uint64
	Hash  string
}

// ChainHeads returns the last link of every chain, sorted by chain; none
// before the first link. Reports list them one by one (ChainHead folds
// them into one digest for a manifest).
func (s *Store) ChainHeads(ctx context.Context) ([]ChainHeadRow, error) {
	hs, err := s.chainHeads(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]ChainHeadRow, len(hs))
	for i, h := range hs {
		out[i] = ChainHeadRow{Chain: h.Chain, Seq: h.Seq, Hash: h.Hash}
	}
	return out, nil
}
