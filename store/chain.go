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
	Seq  uint64 `json:"seq"`
	Hash string `json:"hash"`
}

// ChainHead returns the last link of the raw log's chain (zero before the
// first).
func (s *Store) ChainHead(ctx context.Context) (seq uint64, hash string, err error) {
	var rows []chainHead
	if err := s.db.Query(ctx, "SELECT seq, hash FROM raw_deliveries WHERE seq > 0 ORDER BY seq DESC LIMIT 1", nil, &rows); err != nil {
		return 0, "", fmt.Errorf("read chain head: %w", err)
	}
	if len(rows) == 0 {
		return 0, "", nil
	}
	return rows[0].Seq, rows[0].Hash, nil
}

// link numbers and hashes raw rows in order, continuing the chain from the
// stored head. The caller holds s.chainMu.
func (s *Store) link(ctx context.Context, rows []rawRow, ds []model.Delivery) error {
	if !s.chainLoaded {
		seq, hash, err := s.ChainHead(ctx)
		if err != nil {
			return err
		}
		s.chainSeq, s.chainHash, s.chainLoaded = seq, hash, true
	}
	seq, prev := s.chainSeq, s.chainHash
	for i := range rows {
		seq++
		rows[i].Seq, rows[i].PrevHash = seq, prev
		rows[i].Hash = LinkHash(prev, seq, ds[i].Source, ds[i].Event, ds[i].DeliveryID, ds[i].ReceivedAt, ds[i].SHA256)
		prev = rows[i].Hash
	}
	return nil
}

// BrokenLink describes the first place the chain does not hold.
type BrokenLink struct {
	Seq        uint64 `json:"seq"`
	DeliveryID string `json:"delivery_id"`
	Problem    string `json:"problem"`
}

// VerifyResult is what Verify found.
type VerifyResult struct {
	Links  uint64      `json:"links"`
	Head   string      `json:"head"`
	Broken *BrokenLink `json:"broken,omitempty"`
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

// Verify recomputes the chain from link fromSeq (1 = the start) to link
// toSeq (0 = the head), reading a page at a time, and reports the first broken link: a body
// that no longer matches its SHA-256, a link whose hash does not match its
// contents, a link that does not follow the one before, or a missing link.
func (s *Store) Verify(ctx context.Context, fromSeq, toSeq uint64) (VerifyResult, error) {
	var res VerifyResult
	if fromSeq < 1 {
		fromSeq = 1
	}
	prev := ""
	if fromSeq > 1 {
		var rows []chainHead
		if err := s.db.Query(ctx, "SELECT seq, hash FROM raw_deliveries WHERE seq = {seq:UInt64}",
			Params{"seq": strconv.FormatUint(fromSeq-1, 10)}, &rows); err != nil {
			return res, fmt.Errorf("read link %d: %w", fromSeq-1, err)
		}
		if len(rows) != 1 {
			return res, fmt.Errorf("link %d, before the start of verification, is missing", fromSeq-1)
		}
		prev = rows[0].Hash
	}
	next := fromSeq
	const page = 5000
	for {
		var rows []linkRow
		err := s.db.Query(ctx, `SELECT seq, prev_hash, hash, source, event, delivery_id, received_at, sha256,
    lower(hex(SHA256(body))) AS body_sha
FROM raw_deliveries WHERE seq >= {from:UInt64} AND ({to:UInt64} = 0 OR seq <= {to:UInt64}) ORDER BY seq LIMIT {n:UInt32}`,
			Params{"from": strconv.FormatUint(next, 10), "to": strconv.FormatUint(toSeq, 10), "n": strconv.Itoa(page)}, &rows)
		if err != nil {
			return res, fmt.Errorf("read chain from link %d: %w", next, err)
		}
		for _, r := range rows {
			var problem string
			switch {
			case r.Seq != next:
				problem = fmt.Sprintf("link %d is missing (next stored link is %d)", next, r.Seq)
			case r.BodySHA != r.SHA256:
				problem = fmt.Sprintf("body does not match its recorded SHA-256 %s (it hashes to %s)", r.SHA256, r.BodySHA)
			case r.PrevHash != prev:
				problem = fmt.Sprintf("prev_hash %s does not match link %d's hash %s", r.PrevHash, next-1, prev)
			case LinkHash(prev, r.Seq, r.Source, r.Event, r.DeliveryID, r.ReceivedAt.T(), r.SHA256) != r.Hash:
				problem = "hash does not match the link's contents"
			}
			if problem != "" {
				res.Broken = &BrokenLink{Seq: next, DeliveryID: r.DeliveryID, Problem: problem}
				return res, nil
			}
			prev = r.Hash
			res.Links++
			res.Head = r.Hash
			next++
		}
		if len(rows) < page {
			return res, nil
		}
	}
}

// SeqRange returns the first and last link received in [from, to] (zero
// bounds are open), for verifying a period.
func (s *Store) SeqRange(ctx context.Context, from, to time.Time) (first, last uint64, err error) {
	var rows []struct {
		First uint64 `json:"first"`
		Last  uint64 `json:"last"`
	}
	p := Params{"from": "1970-01-01 00:00:00.000", "to": "2299-12-31 23:59:59.999"}
	if !from.IsZero() {
		p["from"] = from.UTC().Format("2006-01-02 15:04:05.000")
	}
	if !to.IsZero() {
		p["to"] = to.UTC().Format("2006-01-02 15:04:05.000")
	}
	if err := s.db.Query(ctx, `SELECT min(seq) AS first, max(seq) AS last FROM raw_deliveries
WHERE seq > 0 AND received_at >= {from:DateTime64(3, 'UTC')} AND received_at <= {to:DateTime64(3, 'UTC')}`, p, &rows); err != nil {
		return 0, 0, fmt.Errorf("find links of the period: %w", err)
	}
	if len(rows) == 0 {
		return 0, 0, nil
	}
	return rows[0].First, rows[0].Last, nil
}
