package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"github.com/changeproof/changeproof/model"
)

// LinkHash is the hash of one link of the raw log's chain: SHA-256 over the
// previous link's hash, the link's number and the delivery, each field on
// its own line:
//
//	prev_hash \n seq \n source \n event \n delivery_id \n received_at (RFC 3339, ms, UTC) \n sha256(body)
//
// so anyone can recompute it from an export with a few lines of code.
func LinkHash(prev string, seq uint64, source, event, deliveryID string, receivedAt time.Time, bodySHA256 string) string {
	h := sha256.New()
	for _, f := range []string{prev, strconv.FormatUint(seq, 10), source, event, deliveryID,
		receivedAt.UTC().Truncate(time.Millisecond).Format("2006-01-02T15:04:05.000Z"), bodySHA256} {
		h.Write([]byte(f))
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil))
}

type chainHead struct {
	Chain string `json:"chain"`
	Seq   uint64 `json:"head_seq"`
	Hash  string `json:"head_hash"`
}

// SetChain names the chain this Store writes (a pipeline worker's own, in
// the distributed mode); call it before the first write. Default "".
func (s *Store) SetChain(id string) {
	s.chainMu.Lock()
	defer s.chainMu.Unlock()
	s.chain, s.chainLoaded = id, false
}

// chainHeads returns the last link of every chain.
func (s *Store) chainHeads(ctx context.Context) ([]chainHead, error) {
	var rows []chainHead
	if err := s.db.Query(ctx, "SELECT chain, max(seq) AS head_seq, argMax(hash, seq) AS head_hash FROM raw_deliveries WHERE seq > 0 GROUP BY chain ORDER BY chain", nil, &rows); err != nil {
		return nil, fmt.Errorf("read chain heads: %w", err)
	}
	return rows, nil
}

// ChainHead summarises the raw log's chains for a manifest: with one chain,
// its last link's number and hash; with several (one per pipeline worker),
// the number of links and the SHA-256 over "chain seq hash" lines of every
// chain's head, sorted by chain. Zero before the first link.
func (s *Store) ChainHead(ctx context.Context) (seq uint64, hash string, err error) {
	heads, err := s.chainHeads(ctx)
	if err != nil || len(heads) == 0 {
		return 0, "", err
	}
	if len(heads) == 1 {
		return heads[0].Seq, heads[0].Hash, nil
	}
	h := sha256.New()
	for _, c := range heads {
		seq += c.Seq
		fmt.Fprintf(h, "%s %d %s\n", c.Chain, c.Seq, c.Hash)
	}
	return seq, hex.EncodeToString(h.Sum(nil)), nil
}

// link numbers and hashes raw rows in order, continuing the chain from the
// stored head. The caller holds s.chainMu.
func (s *Store) link(ctx context.Context, rows []rawRow, ds []model.Delivery) error {
	if !s.chainLoaded {
		var rows []chainHead
		// An aggregate, not ORDER BY seq DESC LIMIT 1: the engine's top-K
		// filter failed on that form after a restart ("converting '' to
		// UInt64").
		if err := s.db.Query(ctx, "SELECT chain, max(seq) AS head_seq, argMax(hash, seq) AS head_hash FROM raw_deliveries WHERE chain = {chain:String} AND seq > 0 GROUP BY chain",
			Params{"chain": s.chain}, &rows); err != nil {
			return fmt.Errorf("read chain head: %w", err)
		}
		s.chainSeq, s.chainHash = 0, ""
		if len(rows) == 1 {
			s.chainSeq, s.chainHash = rows[0].Seq, rows[0].Hash
		}
		s.chainLoaded = true
	}
	seq, prev := s.chainSeq, s.chainHash
	for i := range rows {
		seq++
		rows[i].Chain, rows[i].Seq, rows[i].PrevHash = s.chain, seq, prev
		rows[i].Hash = LinkHash(prev, seq, ds[i].Source, ds[i].Event, ds[i].DeliveryID, ds[i].ReceivedAt, ds[i].SHA256)
		prev = rows[i].Hash
	}
	return nil
}

// BrokenLink describes a place a chain does not hold.
type BrokenLink struct {
	Chain      string `json:"chain"`
	Seq        uint64 `json:"link"`
	Source     string `json:"source"`
	DeliveryID string `json:"id"`
	Problem    string `json:"why"`
}

// maxBroken bounds the broken links Verify lists (it counts them all): a
// store rewritten wholesale would otherwise list every row.
const maxBroken = 1000

// VerifyResult is what Verify found.
type VerifyResult struct {
	Chains   int               `json:"chains"`
	Links    uint64            `json:"links"`
	BySource map[string]uint64 `json:"by_source"`
	Head     string            `json:"head"`
	// Broken lists the broken links in chain order, at most maxBroken of
	// them; BrokenCount counts them all. Broken[0] is the first.
	Broken      []BrokenLink `json:"broken"`
	BrokenCount int          `json:"broken_count"`
}

// OK says whether every link checked holds.
func (r VerifyResult) OK() bool { return r.BrokenCount == 0 }

// First returns the first broken link, nil when none.
func (r VerifyResult) First() *BrokenLink {
	if len(r.Broken) == 0 {
		return nil
	}
	return &r.Broken[0]
}

func (r *VerifyResult) broke(b BrokenLink) {
	r.BrokenCount++
	if len(r.Broken) < maxBroken {
		r.Broken = append(r.Broken, b)
	}
}

type linkRow struct {
	Seq        uint64 `json:"seq"`
	PrevHash   string `json:"prev_hash"`
	Hash       string `json:"hash"`
	Source     string `json:"source"`
	Event      string `json:"event"`
	DeliveryID string `json:"delivery_id"`
	ReceivedAt Time   `json:"received_at"`
	SHA256     string `json:"sha256"`
	BodySHA    string `json:"body_sha"`
}

// Verify recomputes every chain over the links received in [from, to]
// (zero bounds are open), reading a page at a time, and reports every
// broken link: a body that no longer matches its SHA-256, a link whose hash
// does not match its contents, a link that does not follow the one before,
// or a missing link. After a broken link it goes on from that link's
// stored hash, so one alteration is one report and the rest of the chain
// is still checked. Head is ChainHead's summary.
func (s *Store) Verify(ctx context.Context, from, to time.Time) (VerifyResult, error) {
	res := VerifyResult{BySource: map[string]uint64{}, Broken: []BrokenLink{}}
	heads, err := s.chainHeads(ctx)
	if err != nil {
		return res, err
	}
	for _, c := range heads {
		lo, hi, err := s.SeqRange(ctx, c.Chain, from, to)
		if err != nil {
			return res, err
		}
		if lo == 0 {
			continue
		}
		res.Chains++
		if err := s.verifyChain(ctx, c.Chain, lo, hi, &res); err != nil {
			return res, err
		}
	}
	_, res.Head, err = s.ChainHead(ctx)
	return res, err
}

func (s *Store) verifyChain(ctx context.Context, chain string, fromSeq, toSeq uint64, res *VerifyResult) error {
	prev := ""
	if fromSeq > 1 {
		var rows []chainHead
		if err := s.db.Query(ctx, "SELECT chain, seq AS head_seq, hash AS head_hash FROM raw_deliveries WHERE chain = {chain:String} AND seq = {seq:UInt64}",
			Params{"chain": chain, "seq": strconv.FormatUint(fromSeq-1, 10)}, &rows); err != nil {
			return fmt.Errorf("read link %d: %w", fromSeq-1, err)
		}
		if len(rows) != 1 {
			res.broke(BrokenLink{Chain: chain, Seq: fromSeq - 1, Problem: fmt.Sprintf("link %d is missing", fromSeq-1)})
		} else {
			prev = rows[0].Hash
		}
	}
	next, alt := fromSeq, ""
	const page = 5000
	for {
		var rows []linkRow
		err := s.db.Query(ctx, `SELECT seq, prev_hash, hash, source, event, delivery_id, received_at, sha256,
    lower(hex(SHA256(body))) AS body_sha
FROM raw_deliveries WHERE chain = {chain:String} AND seq >= {from:UInt64} AND ({to:UInt64} = 0 OR seq <= {to:UInt64})
ORDER BY seq LIMIT {n:UInt32}`,
			Params{"chain": chain, "from": strconv.FormatUint(next, 10), "to": strconv.FormatUint(toSeq, 10), "n": strconv.Itoa(page)}, &rows)
		if err != nil {
			return fmt.Errorf("read chain from link %d: %w", next, err)
		}
		for _, r := range rows {
			if r.Seq > next {
				// Links next .. r.Seq-1 are gone. r is judged on its own:
				// its prev_hash names the missing link, which cannot be
				// checked, so one deletion is one report.
				res.broke(BrokenLink{Chain: chain, Seq: next, Source: r.Source, DeliveryID: r.DeliveryID,
					Problem: fmt.Sprintf("link %d is missing (next stored link is %d)", next, r.Seq)})
				next, prev, alt = r.Seq, r.PrevHash, ""
			}
			recomputed := LinkHash(prev, r.Seq, r.Source, r.Event, r.DeliveryID, r.ReceivedAt.T(), r.SHA256)
			var problem string
			switch {
			case r.Seq < next:
				problem = fmt.Sprintf("link %d is stored more than once", r.Seq)
			case r.BodySHA != r.SHA256:
				problem = fmt.Sprintf("body does not match its recorded SHA-256 %s (it hashes to %s)", r.SHA256, r.BodySHA)
			case r.PrevHash != prev && (alt == "" || r.PrevHash != alt):
				problem = fmt.Sprintf("prev_hash %s does not match link %d's hash %s", r.PrevHash, next-1, prev)
			case recomputed != r.Hash && (r.PrevHash == prev || LinkHash(alt, r.Seq, r.Source, r.Event, r.DeliveryID, r.ReceivedAt.T(), r.SHA256) != r.Hash):
				problem = "hash does not match the link's contents"
			}
			if problem != "" {
				res.broke(BrokenLink{Chain: chain, Seq: r.Seq, Source: r.Source, DeliveryID: r.DeliveryID, Problem: problem})
			}
			if r.Seq < next {
				continue
			}
			// The next link may follow either the stored hash or the one
			// recomputed here: after an alteration, whichever the
			// alteration left intact, so one altered link is one report and
			// the rest of the chain is still checked.
			prev, alt = r.Hash, ""
			if problem != "" && recomputed != r.Hash {
				alt = recomputed
			}
			res.Links++
			res.BySource[r.Source]++
			next = r.Seq + 1
		}
		if len(rows) < page {
			return nil
		}
	}
}

// SeqRange returns the first and last link of a chain received in [from,
// to] (zero bounds are open), for verifying a period.
func (s *Store) SeqRange(ctx context.Context, chain string, from, to time.Time) (first, last uint64, err error) {
	var rows []struct {
		First uint64 `json:"first"`
		Last  uint64 `json:"last"`
	}
	p := periodParams(from, to)
	p["chain"] = chain
	if err := s.db.Query(ctx, `SELECT min(seq) AS first, max(seq) AS last FROM raw_deliveries
WHERE chain = {chain:String} AND seq > 0 AND received_at >= {from:DateTime64(3, 'UTC')} AND received_at <= {to:DateTime64(3, 'UTC')}`, p, &rows); err != nil {
		return 0, 0, fmt.Errorf("find links of the period: %w", err)
	}
	if len(rows) == 0 {
		return 0, 0, nil
	}
	return rows[0].First, rows[0].Last, nil
}
