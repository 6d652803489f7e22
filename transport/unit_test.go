package transport

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"math/big"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/changeproof/changeproof/model"
)

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestValidateNamesFields(t *testing.T) {
	ok := Options{Brokers: []string{"kafka:9092"}, TopicPrefix: "changeproof.", Group: "changeproof"}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		mut  func(*Options)
		want string
	}{
		{func(o *Options) { o.Brokers = nil }, "kafka.brokers"},
		{func(o *Options) { o.Brokers = []string{"kafka"} }, "kafka.brokers[0]"},
		{func(o *Options) { o.TopicPrefix = "bad/prefix" }, "kafka.topic_prefix"},
		{func(o *Options) { o.Partitions = -1 }, "Partitions"},
		{func(o *Options) { o.BatchWait = -time.Second }, "BatchWait"},
		{func(o *Options) { o.SASL.Mechanism = "GSSAPI" }, "kafka.sasl.mechanism"},
		{func(o *Options) { o.SASL.Mechanism = SASLPlain }, "kafka.sasl.username"},
		{func(o *Options) { o.SASL.Mechanism, o.SASL.Username = SASLSCRAMSHA512, "u" }, "kafka.sasl.password"},
		{func(o *Options) { o.SASL.Username = "u" }, "kafka.sasl.mechanism"},
	} {
		o := ok
		c.mut(&o)
		err := o.Validate()
		if err == nil || !strings.HasPrefix(err.Error(), c.want+":") {
			t.Errorf("want an error naming %s, got %v", c.want, err)
		}
	}
	if _, err := NewConsumer(Options{Brokers: []string{"k:1"}}, Handlers{}); err == nil || !strings.Contains(err.Error(), "kafka.group") {
		t.Errorf("consumer without group: %v", err)
	}
	if _, err := NewConsumer(Options{Brokers: []string{"k:1"}, Group: "g"}, Handlers{}); err == nil {
		t.Error("consumer without handlers accepted")
	}
}

func TestDeliveryEnvelopeRoundTrip(t *testing.T) {
	for _, body := range [][]byte{
		[]byte(`{"a":"<b>&amp;</b>","u":"\u00e9","n":1.50}`),
		[]byte("{\n  \"pretty\": true\n}"),
		[]byte("{\"trailing\":1}\n"),
		[]byte("payload=%7B%7D"),
		[]byte("\xff\xfe not utf8"),
		[]byte("null"),
		{},
		nil,
	} {
		d := model.Delivery{Source: "github", Event: "push", DeliveryID: "x", ReceivedAt: time.Now().UTC(), SHA256: sha(body), Body: body}
		v, err := encodeDelivery(d)
		if err != nil {
			t.Fatal(err)
		}
		g, err := decodeDelivery(v)
		if err != nil {
			t.Fatalf("%q: %v (%s)", body, err, v)
		}
		if !bytes.Equal(g.Body, body) || g.SHA256 != d.SHA256 || !g.ReceivedAt.Equal(d.ReceivedAt) {
			t.Errorf("%q came back as %q", body, g.Body)
		}
	}
	d := delivery("acme/api", 1)
	v, _ := encodeDelivery(d)
	if !bytes.Contains(v, []byte(`"body":{"action"`)) || !bytes.Contains(v, []byte(`"v":1`)) {
		t.Errorf("JSON body not embedded raw: %s", v)
	}
	tampered := bytes.Replace(v, []byte(`"number":1`), []byte(`"number":2`), 1)
	if _, err := decodeDelivery(tampered); err == nil || !strings.Contains(err.Error(), "sha256") {
		t.Errorf("tampered body: %v", err)
	}
	for _, bad := range []string{`garbage`, `{"v":2,"delivery_id":"x","source":"github"}`, `{"v":1,"source":"github"}`} {
		if _, err := decodeDelivery([]byte(bad)); err == nil {
			t.Errorf("%s decoded", bad)
		}
	}
}

// SCRAM credentials go through SASLprep: a password with a control
// character can never authenticate, so it fails when the mechanism is
// built, naming the setting, not at the first broker connection.
func TestSCRAMRefusesUnpreparableCredentials(t *testing.T) {
	for _, mech := range []string{SASLSCRAMSHA256, SASLSCRAMSHA512} {
		o := Options{}
		o.SASL.Mechanism, o.SASL.Username, o.SASL.Password = mech, "svc", "pass\u0007word"
		if _, err := o.mechanism(); err == nil || !strings.Contains(err.Error(), "kafka.sasl") {
			t.Errorf("%s: %v", mech, err)
		}
		o.SASL.Password = "pass word"
		if m, err := o.mechanism(); err != nil || m.Name() != mech {
			t.Errorf("%s: %v %v", mech, m, err)
		}
	}
}

// Producing over each SASL mechanism against a broker that requires it.
func TestSASLMechanisms(t *testing.T) {
	t.Parallel()
	addrs := newCluster(t, kfake.EnableSASL(),
		kfake.Superuser(SASLPlain, "plainuser", "plainpass"),
		kfake.Superuser(SASLSCRAMSHA256, "scram256", "pass256"),
		kfake.Superuser(SASLSCRAMSHA512, "scram512", "pass512"))
	for i, c := range []struct{ mech, user, pass string }{
		{SASLPlain, "plainuser", "plainpass"},
		{SASLSCRAMSHA256, "scram256", "pass256"},
		{SASLSCRAMSHA512, "scram512", "pass512"},
	} {
		o := testOptions(t, addrs)
		o.SASL.Mechanism, o.SASL.Username, o.SASL.Password = c.mech, c.user, c.pass
		mustEnsure(t, o)
		produce(t, o, deliveries(i*10, 2))
		if n := len(readTopic(t, o, "cp.github")); n != 2*(i+1) {
			t.Errorf("%s: %d messages", c.mech, n)
		}

		o.SASL.Password = "wrong"
		o.DialTimeout = 2 * time.Second
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		if err := EnsureTopics(ctx, o); err == nil {
			t.Errorf("%s: wrong password accepted", c.mech)
		}
		cancel()
	}
}

func TestTLS(t *testing.T) {
	t.Parallel()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "kfake"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, IsCA: true, BasicConstraintsValid: true,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	addrs := newCluster(t, kfake.TLS(&tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}))

	o := testOptions(t, addrs)
	o.TLS = &tls.Config{RootCAs: pool}
	mustEnsure(t, o)
	produce(t, o, deliveries(0, 3))
	if n := len(readTopic(t, o, "cp.github")); n != 3 {
		t.Errorf("%d messages over TLS", n)
	}
}

// The fast access decoder gives exactly what encoding/json gives, and
// leaves to it whatever it does not reproduce.
func TestDecodeAccessFastAgreesWithEncodingJSON(t *testing.T) {
	at := time.Date(2026, 3, 2, 10, 15, 3, 123456789, time.UTC)
	events := []model.AccessEvent{
		{ID: "db-1", System: "prod-db", Time: at, Principal: "alice", Action: "psql login", Result: "success",
			Format: "generic", Raw: `{"id":"db-1"}`, ReceivedAt: at.Add(time.Second)},
		{ID: "db-2", System: "prod-db", Time: at, Principal: "bob", Action: "q", Result: "failure", Role: "break-glass",
			Ticket: "OPS-1", SourceIP: "10.0.0.1", Source: "pgaudit", Format: "sshd", Raw: "é \\\" \u2028 tab\t", ReceivedAt: at},
		{ID: "db-3", System: "s", Raw: "\xff\xfe not UTF-8"}, // base64 raw: encoding/json's path
	}
	for _, ev := range events {
		b, err := encodeAccess(ev)
		if err != nil {
			t.Fatal(err)
		}
		var want accessEnvelope
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatal(err)
		}
		got, ok := decodeAccessFast(b)
		if ok != (want.RawBase64 == nil) {
			t.Errorf("%s: fast path ok=%v with raw_base64 %v", ev.ID, ok, want.RawBase64 != nil)
		}
		if ok && !reflect.DeepEqual(got, want) {
			t.Errorf("%s: fast %+v\nwant %+v", ev.ID, got, want)
		}
		dec, err := decodeAccess(b)
		if err != nil || !reflect.DeepEqual(dec, ev) {
			t.Errorf("%s: round trip %+v (%v), want %+v", ev.ID, dec, err, ev)
		}
	}
	for _, bad := range []string{`{"v":1,"access":{"id":1}}`, `{"v":1,"access":{"ID":"x"}}`, `{"v":1,"access":{"id":"a","id":"b"}}`, `{"v":1} x`} {
		if _, ok := decodeAccessFast([]byte(bad)); ok {
			t.Errorf("fast path accepted %s", bad)
		}
	}
}
