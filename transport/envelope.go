package transport

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/changeproof/changeproof/internal/jsonscan"
	"github.com/changeproof/changeproof/model"
)

// envelopeVersion is the version of the message values this package writes.
// A consumer dead-letters values of any other version.
const envelopeVersion = 1

// deliveryHeader is a delivery's envelope without its body. The body follows
// either as raw JSON ("body", byte for byte as received) or, when it is not
// JSON that survives the round trip unchanged, as base64 ("body_base64").
type deliveryHeader struct {
	V          int       `json:"v"`
	Source     string    `json:"source"`
	Event      string    `json:"event"`
	DeliveryID string    `json:"delivery_id"`
	ReceivedAt time.Time `json:"received_at"`
	SHA256     string    `json:"sha256"`
}

type deliveryEnvelope struct {
	deliveryHeader
	Body       json.RawMessage `json:"body"`
	BodyBase64 []byte          `json:"body_base64"`
	Meta       []byte          `json:"meta"` // base64, as encoding/json writes []byte
}

// encodeDelivery writes d's envelope: a record of any source, with its
// Meta (the receiver's parse of a deploy or access body) as base64. The body is spliced in by hand:
// encoding/json would compact it and escape HTML in it, and the stored body
// must be the bytes that arrived (its SHA-256 is evidence).
func encodeDelivery(d model.Delivery) ([]byte, error) {
	head, err := json.Marshal(deliveryHeader{V: envelopeVersion, Source: d.Source, Event: d.Event,
		DeliveryID: d.DeliveryID, ReceivedAt: d.ReceivedAt, SHA256: d.SHA256})
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	buf.Grow(len(head) + len(d.Body) + 16)
	buf.Write(head[:len(head)-1]) // drop '}'
	if rawJSONSafe(d.Body) {
		buf.WriteString(`,"body":`)
		buf.Write(d.Body)
	} else {
		b64, err := json.Marshal(d.Body) // []byte marshals as base64
		if err != nil {
			return nil, err
		}
		buf.WriteString(`,"body_base64":`)
		buf.Write(b64)
	}
	if len(d.Meta) > 0 {
		m, err := json.Marshal(d.Meta)
		if err != nil {
			return nil, err
		}
		buf.WriteString(`,"meta":`)
		buf.Write(m)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// rawJSONSafe reports whether b decodes back from a json.RawMessage
// unchanged: a valid JSON object or array with no surrounding white space.
func rawJSONSafe(b []byte) bool {
	return len(b) > 0 && (b[0] == '{' || b[0] == '[') && len(bytes.TrimSpace(b)) == len(b) && json.Valid(b)
}

func decodeDelivery(v []byte) (model.Delivery, error) {
	var e deliveryEnvelope
	if err := json.Unmarshal(v, &e); err != nil {
		return model.Delivery{}, fmt.Errorf("undecodable delivery envelope: %v", err)
	}
	if e.V != envelopeVersion {
		return model.Delivery{}, fmt.Errorf("delivery envelope version %d, want %d", e.V, envelopeVersion)
	}
	if e.DeliveryID == "" {
		return model.Delivery{}, errors.New("delivery envelope without delivery_id")
	}
	if e.Source == "" {
		return model.Delivery{}, errors.New("delivery envelope without source")
	}
	d := model.Delivery{Source: e.Source, Event: e.Event, DeliveryID: e.DeliveryID,
		ReceivedAt: e.ReceivedAt, SHA256: e.SHA256}
	if len(e.Meta) > 0 {
		d.Meta = e.Meta
	}
	switch {
	case len(e.Body) > 0 && (e.Body[0] == '{' || e.Body[0] == '['):
		d.Body = []byte(e.Body)
	case e.BodyBase64 != nil:
		d.Body = e.BodyBase64
	default:
		d.Body = []byte{}
	}
	if d.SHA256 != "" {
		sum := sha256.Sum256(d.Body)
		if hex.EncodeToString(sum[:]) != d.SHA256 {
			return model.Delivery{}, fmt.Errorf("delivery %s: body does not match its sha256", d.DeliveryID)
		}
	}
	return d, nil
}

// repositoryKey is the partition key of a GitHub delivery: the repository's
// full name, so one repository's events stay in order; the delivery id when
// the payload names no repository.
func repositoryKey(d model.Delivery) string {
	var p struct {
		Repository struct {
			FullName string `json:"full_name"`
		} `json:"repository"`
	}
	// Decoding into a struct with one field skips the rest of the payload
	// without building it.
	if json.Unmarshal(d.Body, &p) == nil && p.Repository.FullName != "" {
		return p.Repository.FullName
	}
	return d.DeliveryID
}

// decodeRecord reads a message of a source's topic as a log record. The
// deploy and access topics also still carry the envelopes written before
// every source travelled as a record (version 1 {"deploy": ...} and
// {"access": ...}); those become records here, so a rolling upgrade loses
// nothing in flight.
func decodeRecord(source string, v []byte) (model.Delivery, error) {
	d, err := decodeDelivery(v)
	if err == nil || (source != SourceDeploy && source != SourceAccess) || !legacyEnvelope(v) {
		return d, err
	}
	if source == SourceDeploy {
		dep, lerr := decodeDeploy(v)
		if lerr != nil {
			return model.Delivery{}, lerr
		}
		raw, lerr := json.Marshal(dep)
		if lerr != nil {
			return model.Delivery{}, lerr
		}
		dep.Raw = string(raw)
		return model.DeployRecord(dep, dep.ReceivedAt)
	}
	a, lerr := decodeAccess(v)
	if lerr != nil {
		return model.Delivery{}, lerr
	}
	return model.AccessRecord(a, a.ReceivedAt)
}

// legacyEnvelope reports a version 1 deploy or access envelope.
func legacyEnvelope(v []byte) bool {
	var probe struct {
		Deploy json.RawMessage `json:"deploy"`
		Access json.RawMessage `json:"access"`
	}
	return json.Unmarshal(v, &probe) == nil && (probe.Deploy != nil || probe.Access != nil)
}

// deployEnvelope and accessEnvelope are the version 1 deploy and access
// messages, read for a rolling upgrade only (see decodeRecord).
type deployEnvelope struct {
	V      int          `json:"v"`
	Deploy model.Deploy `json:"deploy"`
}

func decodeDeploy(v []byte) (model.Deploy, error) {
	var e deployEnvelope
	if err := json.Unmarshal(v, &e); err != nil {
		return model.Deploy{}, fmt.Errorf("undecodable deploy envelope: %v", err)
	}
	if e.V != envelopeVersion {
		return model.Deploy{}, fmt.Errorf("deploy envelope version %d, want %d", e.V, envelopeVersion)
	}
	if e.Deploy.ID == "" {
		return model.Deploy{}, errors.New("deploy without id")
	}
	return e.Deploy, nil
}

// accessEnvelope carries Raw as base64 when it is not UTF-8, which JSON
// strings cannot hold unchanged.
type accessEnvelope struct {
	V         int               `json:"v"`
	Access    model.AccessEvent `json:"access"`
	RawBase64 []byte            `json:"raw_base64,omitempty"`
}

func decodeAccess(v []byte) (model.AccessEvent, error) {
	e, ok := decodeAccessFast(v)
	if !ok {
		e = accessEnvelope{}
		if err := json.Unmarshal(v, &e); err != nil {
			return model.AccessEvent{}, fmt.Errorf("undecodable access envelope: %v", err)
		}
	}
	if e.V != envelopeVersion {
		return model.AccessEvent{}, fmt.Errorf("access envelope version %d, want %d", e.V, envelopeVersion)
	}
	if e.Access.ID == "" || e.Access.System == "" {
		return model.AccessEvent{}, errors.New("access event without id or system")
	}
	if e.RawBase64 != nil {
		e.Access.Raw = string(e.RawBase64)
	}
	return e.Access, nil
}

var (
	accessEnvelopeKeys = []string{"v", "access", "raw_base64"}
	accessEventKeys    = []string{"id", "system", "time", "principal", "action", "result", "role", "ticket", "source_ip",
		"source", "format", "raw", "received_at"}
)

// decodeAccessFast reads an access envelope without encoding/json's
// reflection, which was most of a consumer's CPU per access event. It
// gives up (ok false) on anything jsonscan does not reproduce exactly, and
// on base64 raw lines, and the caller decodes with encoding/json, so the
// result is always encoding/json's.
func decodeAccessFast(v []byte) (e accessEnvelope, ok bool) {
	r := jsonscan.New(v)
	a := &e.Access
	strs := [...]*string{&a.ID, &a.System, nil, &a.Principal, &a.Action, &a.Result, &a.Role, &a.Ticket, &a.SourceIP,
		&a.Source, &a.Format, &a.Raw, nil}
	r.Object(accessEnvelopeKeys, func(k int) {
		switch k {
		case 0:
			e.V = int(r.Int())
		case 1:
			r.Object(accessEventKeys, func(k int) {
				switch k {
				case 2:
					if t := r.Time(); t != nil {
						a.Time = *t
					}
				case 12:
					if t := r.Time(); t != nil {
						a.ReceivedAt = *t
					}
				default:
					*strs[k], _ = r.String()
				}
			})
		default:
			r.Fail()
		}
	})
	r.End()
	return e, !r.Failed()
}
