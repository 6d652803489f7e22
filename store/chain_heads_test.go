package store_test

import (
	"context"
	"testing"

	"github.com/changeproof/changeproof/store"
	"github.com/changeproof/changeproof/store/storetest"
)

// TestChainHeads lists every chain's last link, sorted by chain, the links
// ChainHead folds into one digest.
func TestChainHeads(t *testing.T) {
	ctx := context.Background()
	s := storetest.Open(t)
	if hs, err := s.ChainHeads(ctx); err != nil || len(hs) != 0 {
		t.Fatalf("empty raw log: %v, %v", hs, err)
	}
	w1, w2 := store.New(storetest.DB(s)), store.New(storetest.DB(s))
	w1.SetChain("worker-b")
	w2.SetChain("worker-a")
	writeChain(t, w1, 0, 3)
	writeChain(t, w2, 3, 8)
	hs, err := s.ChainHeads(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(hs) != 2 || hs[0].Chain != "worker-a" || hs[0].Seq != 5 || hs[1].Chain != "worker-b" || hs[1].Seq != 3 ||
		len(hs[0].Hash) != 64 || hs[0].Hash == hs[1].Hash {
		t.Fatalf("heads = %+v", hs)
	}
	seq, _, _ := s.ChainHead(ctx)
	if seq != hs[0].Seq+hs[1].Seq {
		t.Fatalf("ChainHead counts %d links, the heads %d", seq, hs[0].Seq+hs[1].Seq)
	}
}
