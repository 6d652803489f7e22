package spool

import "io"

// payloadChunk is the most readPayload allocates ahead of the bytes that
// actually arrive.
const payloadChunk = 1 << 20

// readPayload reads exactly n bytes. The buffer grows with the bytes read,
// never ahead of them by more than payloadChunk: a damaged length field
// (up to 1 GiB) in a short segment costs what the segment holds, not the
// length it claims. A record of up to payloadChunk bytes, which is every
// webhook delivery in practice, is one allocation as before.
func readPayload(r io.Reader, n int) ([]byte, error) {
	p := make([]byte, min(n, payloadChunk))
	if _, err := io.ReadFull(r, p); err != nil {
		return nil, err
	}
	for len(p) < n {
		have := len(p)
		p = append(p, make([]byte, min(n-have, have))...)
		if _, err := io.ReadFull(r, p[have:]); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
	return p, nil
}
