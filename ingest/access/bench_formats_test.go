package access

import (
	"bytes"
	"io"
	"os"
	"testing"
	"time"

	"github.com/changeproof/changeproof/model"
)

// benchInput repeats the lines of a real sample to at least n lines.
func benchInput(b *testing.B, file string, n int) (input []byte, lines int) {
	b.Helper()
	one, err := os.ReadFile("testdata/" + file)
	if err != nil {
		b.Fatal(err)
	}
	one = append(bytes.TrimRight(one, "\n"), '\n')
	per := bytes.Count(one, []byte("\n"))
	for lines < n {
		input = append(input, one...)
		lines += per
	}
	return input, lines
}

// BenchmarkReadFormats reads each format's real samples (repeated to about
// 20,000 lines) and the generic format's synthetic lines in the same run:
// lines/s per format, and x-generic, that rate over generic's measured in
// the same iterations (each reads the format's input, then generic's). The target
// is 100,000 lines/s on one core for every format (docs/performance.md);
// run with -cpu 1.
func BenchmarkReadFormats(b *testing.B) {
	generic, err := io.ReadAll(&genericLines{n: 20_000})
	if err != nil {
		b.Fatal(err)
	}
	cases := []struct {
		name   string
		format Format
		file   string
	}{
		{"generic", Generic, ""},
		{"sshd", SSHD, "sshd-fail2ban.log"},
		{"sshd-rfc5424", SSHD, "sshd-rsyslog-5424.log"},
		{"journald", Journald, "journald-sshd.ndjson"},
		{"k8s-audit", K8sAudit, "k8s-audit-elastic.ndjson"},
		{"cloudtrail", CloudTrail, "cloudtrail-elastic.ndjson"},
		{"okta", Okta, "okta-elastic.ndjson"},
		{"gcp-audit", GCPAudit, "gcp-audit-elastic.ndjson"},
		{"teleport", Teleport, "teleport-elastic.ndjson"},
	}
	read := func(b *testing.B, input []byte, f Format) {
		res, err := Read(bytes.NewReader(input), Options{Format: f, System: "bench", Now: fixedNow}, 5000,
			func([]model.AccessEvent) error { return nil })
		if err != nil || len(res.Rejected) != 0 {
			b.Fatalf("res %+v err %v", res, err)
		}
	}
	for _, c := range cases {
		input, lines := generic, 20_000
		if c.file != "" {
			input, lines = benchInput(b, c.file, 20_000)
		}
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(input)))
			b.ReportAllocs()
			// Each iteration reads the format's input and then generic's,
			// so the ratio compares rates measured under the same load.
			var inFormat, inGeneric time.Duration
			n := 0
			for b.Loop() {
				t0 := time.Now()
				read(b, input, c.format)
				t1 := time.Now()
				read(b, generic, Generic)
				inFormat += t1.Sub(t0)
				inGeneric += time.Since(t1)
				n++
			}
			rate := float64(n*lines) / inFormat.Seconds()
			b.ReportMetric(rate, "lines/s")
			b.ReportMetric(rate/(float64(n*20_000)/inGeneric.Seconds()), "x-generic")
		})
	}
}
