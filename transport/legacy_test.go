package transport

import (
	"encoding/json"
	"testing"
	"unicode/utf8"

	"github.com/changeproof/changeproof/model"
)

// The version 1 deploy and access envelopes, as producers before the
// evidence log wrote them: what decodeRecord must still read.

func encodeDeploy(d model.Deploy) ([]byte, error) {
	return json.Marshal(deployEnvelope{V: envelopeVersion, Deploy: d})
}

func encodeAccess(a model.AccessEvent) ([]byte, error) {
	e := accessEnvelope{V: envelopeVersion, Access: a}
	if !utf8.ValidString(a.Raw) {
		e.RawBase64 = []byte(a.Raw)
		e.Access.Raw = ""
	}
	return json.Marshal(e)
}

// TestLegacyEnvelopesBecomeRecords: deploy and access messages written
// before every source travelled as a record are still read, as records.
func TestLegacyEnvelopesBecomeRecords(t *testing.T) {
	v, err := encodeAccess(model.AccessEvent{ID: "a2", System: "bastion", Principal: "bob", Action: "ssh", Result: "failure",
		Format: "sshd", Raw: "bad \xfe utf8"})
	if err != nil {
		t.Fatal(err)
	}
	r, err := decodeRecord(SourceAccess, v)
	if err != nil || r.Source != model.SourceAccess || r.DeliveryID != "bastion:a2" || string(r.Body) != "bad \xfe utf8" {
		t.Fatalf("access record = %+v, %v", r, err)
	}
	if a, err := r.Access(); err != nil || a.Principal != "bob" {
		t.Fatalf("access event = %+v, %v", a, err)
	}
	v, err = encodeDeploy(model.Deploy{ID: "d1", Service: "api", Status: "success"})
	if err != nil {
		t.Fatal(err)
	}
	r, err = decodeRecord(SourceDeploy, v)
	if err != nil || r.Source != model.SourceDeploy || r.DeliveryID != "d1" {
		t.Fatalf("deploy record = %+v, %v", r, err)
	}
	if _, err := decodeRecord(SourceDeploy, []byte(`{"v":1,"deploy":{"service":"api"}}`)); err == nil {
		t.Fatal("a deploy without id was read")
	}
}
