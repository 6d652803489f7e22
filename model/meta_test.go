package model

import (
	"reflect"
	"testing"
	"time"
)

func TestMetaRoundTrip(t *testing.T) {
	at := time.Date(2026, 3, 2, 10, 15, 3, 123456789, time.UTC)
	epoch := AccessEvent{ID: "e", System: "s", Time: time.Unix(0, 0).UTC()}
	if got, err := readAccessMeta(accessMeta(epoch)); err != nil || !got.Time.Equal(epoch.Time) || got.Time.IsZero() {
		t.Fatalf("1970-01-01 read back as %v, %v", got.Time, err)
	}
	e := AccessEvent{ID: "db-7781", System: "prod-db", Time: at, Principal: "al\xffice", Action: "psql login", Result: "success",
		Role: "break-glass", Ticket: "OPS-12", SourceIP: "10.0.0.5", Source: "pgaudit", Format: "generic"}
	got, err := readAccessMeta(accessMeta(e))
	if err != nil || !reflect.DeepEqual(got, e) {
		t.Fatalf("access round trip = %+v, %v\nwant %+v", got, err, e)
	}
	d := Deploy{ID: "deploy-1", Source: "api", Service: "ledger", Environment: "production", SHA: "9f8e", Repo: "acme/ledger",
		Status: "success", Actor: "ci", StartedAt: at, Pipeline: "build-9", URL: "https://ci.example/9", Version: "1.2"}
	gotD, err := readDeployMeta(deployMeta(d))
	if err != nil || !reflect.DeepEqual(gotD, d) {
		t.Fatalf("deploy round trip = %+v, %v\nwant %+v", gotD, err, d)
	}
	for _, bad := range [][]byte{nil, {}, {metaDeployV1}, {metaAccessV1, 0xff}, append(accessMeta(e), 0)} {
		if _, err := readAccessMeta(bad); err == nil {
			t.Errorf("readAccessMeta(%x) accepted", bad)
		}
	}
}

// FuzzMeta: any bytes are read without panic, and what is read is read
// again the same after writing it back (the writer's form is canonical;
// the reader also takes non-minimal varints).
func FuzzMeta(f *testing.F) {
	f.Add(accessMeta(AccessEvent{ID: "a", System: "s", Time: time.Unix(1, 0)}))
	f.Add(deployMeta(Deploy{ID: "d", FinishedAt: time.Unix(2, 0)}))
	f.Fuzz(func(t *testing.T, b []byte) {
		if e, err := readAccessMeta(b); err == nil {
			if again, err := readAccessMeta(accessMeta(e)); err != nil || !reflect.DeepEqual(again, e) {
				t.Errorf("access meta %x: %+v written and read back as %+v, %v", b, e, again, err)
			}
		}
		if d, err := readDeployMeta(b); err == nil {
			if again, err := readDeployMeta(deployMeta(d)); err != nil || !reflect.DeepEqual(again, d) {
				t.Errorf("deploy meta %x: %+v written and read back as %+v, %v", b, d, again, err)
			}
		}
	})
}
