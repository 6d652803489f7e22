package model

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// The sources of the evidence log. Every accepted event is a Delivery of
// one of them, appended to the durable log before its sender is answered
// and kept byte for byte in the hash-chained raw log.
const (
	SourceGitHub     = "github"      // a GitHub webhook delivery; id = X-GitHub-Delivery
	SourceGitHubREST = "github-rest" // a REST response backfill read; id = rest:<url>@<etag>
	SourceDeploy     = "deploy"      // a deploy line from CI/CD; id = the deploy's id
	SourceAccess     = "access"      // an access event; id = SYSTEM:<event id>
)

// DeployRecord is the log record of a deploy from CI/CD: its bytes as
// received are the body, the parsed deploy travels beside them (Meta), so
// the pipeline stores what the receiver checked without parsing it again.
func DeployRecord(d Deploy, receivedAt time.Time) (Delivery, error) {
	return record(SourceDeploy, "deploy", d.ID, []byte(d.Raw), receivedAt, deployMeta(d)), nil
}

// AccessRecord is the log record of an access event: the bytes that made
// it are the body, the parsed event (without Raw, which is the body) is
// Meta.
func AccessRecord(e AccessEvent, receivedAt time.Time) (Delivery, error) {
	return record(SourceAccess, e.Format, e.Subject(), []byte(e.Raw), receivedAt, accessMeta(e)), nil
}

func record(source, event, id string, body []byte, receivedAt time.Time, meta []byte) Delivery {
	if body == nil {
		body = []byte{}
	}
	sum := sha256.Sum256(body)
	return Delivery{Source: source, Event: event, DeliveryID: id, ReceivedAt: receivedAt.UTC(),
		SHA256: hex.EncodeToString(sum[:]), Body: body, Meta: meta}
}

// Deploy decodes a deploy record's Meta. An error means the record cannot
// be derived (a poison event: dead-lettered with the error as reason).
func (d Delivery) Deploy() (Deploy, error) {
	dep, err := readDeployMeta(d.Meta)
	if err != nil {
		return dep, fmt.Errorf("deploy record %s: %w", d.DeliveryID, err)
	}
	if dep.ID == "" || dep.ID != d.DeliveryID {
		return dep, fmt.Errorf("deploy record %s: carries deploy id %q", d.DeliveryID, dep.ID)
	}
	for _, c := range []struct {
		f string
		t time.Time
	}{{"started_at", dep.StartedAt}, {"finished_at", dep.FinishedAt}} {
		if err := CheckTime(c.f, c.t); err != nil {
			return dep, fmt.Errorf("deploy %s: %w", dep.ID, err)
		}
	}
	dep.Raw, dep.ReceivedAt = string(d.Body), d.ReceivedAt
	return dep, nil
}

// Access decodes an access record's Meta, with the body as its Raw. An
// error means the record cannot be derived.
func (d Delivery) Access() (AccessEvent, error) {
	e, err := readAccessMeta(d.Meta)
	if err != nil {
		return e, fmt.Errorf("access record %s: %w", d.DeliveryID, err)
	}
	if e.ID == "" || e.System == "" || e.Subject() != d.DeliveryID {
		return e, fmt.Errorf("access record %s: carries event %q of system %q", d.DeliveryID, e.ID, e.System)
	}
	if err := CheckTime("time", e.Time); err != nil {
		return e, fmt.Errorf("access event %s: %w", d.DeliveryID, err)
	}
	e.Raw, e.ReceivedAt = string(d.Body), d.ReceivedAt
	return e, nil
}

// PartitionKey keeps the events of one repository, service or system
// together (and in order) on a partitioned log: the access record's
// system, else the given fallback.
func (d Delivery) PartitionKey(fallback string) string {
	if d.Source == SourceAccess {
		if i := strings.IndexByte(d.DeliveryID, ':'); i > 0 {
			return d.DeliveryID[:i]
		}
	}
	return fallback
}

// Conflict is an event that arrived under an id the log already holds
// with other bytes: the first stays the evidence, and the attempt is kept
// here, bytes and all, so that a rewrite is never silent.
type Conflict struct {
	Source     string    `json:"source"`
	ID         string    `json:"id"`
	Event      string    `json:"event"`
	ReceivedAt time.Time `json:"received_at"`
	KeptSHA256 string    `json:"kept_sha256"` // the evidence the id holds
	SHA256     string    `json:"sha256"`      // the refused attempt
	Body       []byte    `json:"-"`
}

// ConflictError is the answer to a line whose id the log holds with other
// bytes.
type ConflictError struct {
	ID         string
	KeptSHA256 string
}

func (e *ConflictError) Error() string {
	short := e.KeptSHA256
	if len(short) > 8 {
		short = short[:8] + "…"
	}
	return fmt.Sprintf("id %s already holds a different event (sha256 %s); the first is kept", e.ID, short)
}
