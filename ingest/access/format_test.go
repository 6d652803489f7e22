package access

import "testing"

func TestParseFormat(t *testing.T) {
	good := map[string]Format{
		"":                                Generic,
		"generic":                         Generic,
		"k8s-audit":                       K8sAudit,
		"SSHD":                            SSHD,
		" sshd ":                          SSHD,
		"application/x-ndjson":            Generic,
		"application/ndjson":              Generic,
		"application/jsonl":               Generic,
		"application/json":                Generic,
		"application/json; charset=utf-8": Generic,
		"application/vnd.changeproof.k8s-audit+ndjson":     K8sAudit,
		"application/vnd.changeproof.sshd":                 SSHD,
		"application/vnd.changeproof.generic+json":         Generic,
		"Application/Vnd.Changeproof.SSHD+text; charset=x": SSHD,
		"syslog":                                Syslog,
		"journald":                              Journald,
		"cloudtrail":                            CloudTrail,
		"okta":                                  Okta,
		"gcp-audit":                             GCPAudit,
		"teleport":                              Teleport,
		"application/vnd.changeproof.okta+json": Okta,
	}
	for in, want := range good {
		got, err := ParseFormat(in)
		if err != nil || got != want {
			t.Errorf("ParseFormat(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	bad := map[string]string{
		"text/plain":                           "cannot tell the format from Content-Type text/plain: add ?format= (generic, sshd, syslog, journald, k8s-audit, cloudtrail, okta, gcp-audit, teleport)",
		"text/plain; charset=utf-8":            "cannot tell the format from Content-Type text/plain: add ?format= (generic, sshd, syslog, journald, k8s-audit, cloudtrail, okta, gcp-audit, teleport)",
		"application/octet-stream":             "cannot tell the format from Content-Type application/octet-stream: add ?format= (generic, sshd, syslog, journald, k8s-audit, cloudtrail, okta, gcp-audit, teleport)",
		"csv":                                  `unknown format "csv": use generic, sshd, syslog, journald, k8s-audit, cloudtrail, okta, gcp-audit, teleport`,
		"application/vnd.changeproof.csv+json": `unknown format "csv" in Content-Type "application/vnd.changeproof.csv+json": use generic, sshd, syslog, journald, k8s-audit, cloudtrail, okta, gcp-audit, teleport`,
		"text/":                                `bad Content-Type "text/": mime: expected token after slash; say the format with ?format= (generic, sshd, syslog, journald, k8s-audit, cloudtrail, okta, gcp-audit, teleport)`,
	}
	for in, want := range bad {
		got, err := ParseFormat(in)
		if err == nil || err.Error() != want {
			t.Errorf("ParseFormat(%q) = %q, %v; want error %q", in, got, err, want)
		}
	}
}

func TestOptionsErrors(t *testing.T) {
	cases := []struct {
		o    Options
		want string
	}{
		{Options{Format: SSHD}, "format sshd needs a system: give ?system= (or configure the cluster name)"},
		{Options{Format: K8sAudit}, "format k8s-audit needs a system: give ?system= (or configure the cluster name)"},
		{Options{Format: "csv"}, `unknown format "csv": use generic, sshd, syslog, journald, k8s-audit, cloudtrail, okta, gcp-audit, teleport`},
		{Options{Format: CloudTrail}, "format cloudtrail needs a system: give ?system= (or configure the cluster name)"},
		{Options{Format: SSHD, System: "s", Year: 1969}, "year: 1969 is outside 1970..2299"},
	}
	for _, c := range cases {
		res, err := Read(failReader{t}, c.o, 10, nil)
		if err == nil || err.Error() != c.want {
			t.Errorf("Read(%+v) err = %v, want %q", c.o, err, c.want)
		}
		if res.Accepted != 0 || res.Skipped != 0 || res.Rejected != nil {
			t.Errorf("Read(%+v) = %+v", c.o, res)
		}
		if _, _, err := ParseLine([]byte("x"), c.o); err == nil || err.Error() != c.want {
			t.Errorf("ParseLine(%+v) err = %v, want %q", c.o, err, c.want)
		}
	}
}

// failReader fails the test if read: bad options must not consume input.
type failReader struct{ t *testing.T }

func (f failReader) Read([]byte) (int, error) {
	f.t.Error("input read despite bad options")
	return 0, nil
}
