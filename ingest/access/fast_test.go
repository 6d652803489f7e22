package access

import (
	"bytes"
	"os"
	"reflect"
	"testing"

	"github.com/changeproof/changeproof/internal/jsonscan"
)

// sameAsEncodingJSON checks (after normalize drops from encoding/json's
// result what the format never reads) that the jsonscan reader of a format gives what
// encoding/json gives, on every line of the samples and on variants that
// must take the slow path.
func sameAsEncodingJSON[T any](t *testing.T, read func(*jsonscan.Reader, *T), normalize func(*T), extra []string, files ...string) {
	t.Helper()
	inputs := extra
	for _, f := range files {
		b, err := os.ReadFile("testdata/" + f)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n")) {
			inputs = append(inputs, string(l))
		}
	}
	for _, in := range inputs {
		var fast, slow T
		errFast := decodeFast([]byte(in), &fast, read)
		errSlow := decodeRecord([]byte(in), &slow)
		if (errFast == nil) != (errSlow == nil) || (errFast != nil && errFast.Error() != errSlow.Error()) {
			t.Errorf("%.80s: errors %v / %v", in, errFast, errSlow)
		}
		if normalize != nil {
			normalize(&slow)
		}
		if errFast == nil && !reflect.DeepEqual(fast, slow) {
			t.Errorf("%.80s:\n fast %+v\n slow %+v", in, fast, slow)
		}
	}
}

func TestFastReadersAgree(t *testing.T) {
	odd := []string{`null`, `[]`, `{"eventID":1}`, `{"EventID":"x"}`, `{"success":null,"event":"user.login"}`,
		`{"success":"yes"}`, `{"annotations":{"authorization.k8s.io/decision":"forbid","x":"y"},"user":null,"objectRef":null}`,
		`{"kind":"Event"} x`, `{"MESSAGE":[65,66],"SYSLOG_IDENTIFIER":"sshd"}`, `{"protoPayload":null,"status":{"code":"7"}}`}
	sameAsEncodingJSON(t, readCloudTrail, nil, odd, "cloudtrail-elastic.ndjson")
	sameAsEncodingJSON(t, readOkta, nil, odd, "okta-elastic.ndjson")
	sameAsEncodingJSON(t, readGCP, nil, odd, "gcp-audit-elastic.ndjson")
	sameAsEncodingJSON(t, readTeleport, nil, odd, "teleport-elastic.ndjson")
	sameAsEncodingJSON(t, readJournal, nil, odd, "journald-sshd.ndjson")
	sameAsEncodingJSON(t, readK8s, onlyReadAnnotations, odd, "k8s-audit.ndjson", "k8s-audit-elastic.ndjson")
}

// onlyReadAnnotations keeps the annotations and labels k8s-audit reads.
func onlyReadAnnotations(e *k8sEvent) {
	for k := range e.Annotations {
		if k != AnnotationDecision && k != AnnotationTicket {
			delete(e.Annotations, k)
		}
	}
	if len(e.Annotations) == 0 {
		e.Annotations = nil
	}
	for k := range e.Labels {
		if k != AnnotationDecision {
			delete(e.Labels, k)
		}
	}
	if len(e.Labels) == 0 {
		e.Labels = nil
	}
}
