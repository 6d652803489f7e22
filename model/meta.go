package model

import (
	"encoding/binary"
	"errors"
	"math"
	"time"
)

// A record's Meta is the receiver's parse of its body, in a compact binary
// form: one version byte, then every field in a fixed order, strings as
// uvarint length + bytes, times as varint Unix nanoseconds (math.MinInt64 =
// the zero time). Access events are the high-volume source and JSON took more CPU
// per event than storing it; this takes a fraction of a microsecond. Meta
// is not evidence (the body is): it only spares the pipeline a second
// parse.
const (
	metaAccessV1 = 1
	metaDeployV1 = 2
)

var errMeta = errors.New("malformed meta")

type metaWriter []byte

func (w *metaWriter) str(s string) {
	*w = binary.AppendUvarint(*w, uint64(len(s)))
	*w = append(*w, s...)
}

// zeroTime stands for the zero time.Time (absent), which UnixNano cannot
// say; 0 is 1970-01-01, a valid time.
const zeroTime = math.MinInt64

func (w *metaWriter) time(t time.Time) {
	ns := int64(zeroTime)
	if !t.IsZero() {
		ns = t.UnixNano()
	}
	*w = binary.AppendVarint(*w, ns)
}

type metaReader struct {
	b   []byte
	err error
}

func (r *metaReader) str() string {
	if r.err != nil {
		return ""
	}
	n, k := binary.Uvarint(r.b)
	if k <= 0 || uint64(len(r.b)-k) < n {
		r.err = errMeta
		return ""
	}
	s := string(r.b[k : k+int(n)])
	r.b = r.b[k+int(n):]
	return s
}

func (r *metaReader) time() time.Time {
	if r.err != nil {
		return time.Time{}
	}
	ns, k := binary.Varint(r.b)
	if k <= 0 {
		r.err = errMeta
		return time.Time{}
	}
	r.b = r.b[k:]
	if ns == zeroTime {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}

// done reports the reader's error, or errMeta when bytes are left over.
func (r *metaReader) done() error {
	if r.err == nil && len(r.b) > 0 {
		return errMeta
	}
	return r.err
}

func accessMeta(e AccessEvent) []byte {
	w := metaWriter(make([]byte, 0, 64+len(e.ID)+len(e.System)+len(e.Principal)+len(e.Action)))
	w = append(w, metaAccessV1)
	for _, s := range []string{e.ID, e.System, e.Principal, e.Action, e.Result, e.Role, e.Ticket, e.SourceIP, e.Source, e.Format} {
		w.str(s)
	}
	w.time(e.Time)
	return w
}

func readAccessMeta(b []byte) (AccessEvent, error) {
	var e AccessEvent
	if len(b) == 0 || b[0] != metaAccessV1 {
		return e, errMeta
	}
	r := metaReader{b: b[1:]}
	for _, s := range []*string{&e.ID, &e.System, &e.Principal, &e.Action, &e.Result, &e.Role, &e.Ticket, &e.SourceIP, &e.Source, &e.Format} {
		*s = r.str()
	}
	e.Time = r.time()
	return e, r.done()
}

func deployMeta(d Deploy) []byte {
	w := metaWriter(make([]byte, 0, 128+len(d.URL)))
	w = append(w, metaDeployV1)
	for _, s := range []string{d.ID, d.Source, d.Service, d.Environment, d.SHA, d.Repo, d.Status, d.Actor, d.Pipeline, d.URL, d.Version} {
		w.str(s)
	}
	w.time(d.StartedAt)
	w.time(d.FinishedAt)
	return w
}

func readDeployMeta(b []byte) (Deploy, error) {
	var d Deploy
	if len(b) == 0 || b[0] != metaDeployV1 {
		return d, errMeta
	}
	r := metaReader{b: b[1:]}
	for _, s := range []*string{&d.ID, &d.Source, &d.Service, &d.Environment, &d.SHA, &d.Repo, &d.Status, &d.Actor, &d.Pipeline, &d.URL, &d.Version} {
		*s = r.str()
	}
	d.StartedAt = r.time()
	d.FinishedAt = r.time()
	return d, r.done()
}
