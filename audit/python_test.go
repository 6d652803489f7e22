package audit

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestPythonSnippetRederives runs the documented Python snippet in an
// export and checks that it prints the sample the export drew.
func TestPythonSnippetRederives(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed: the documented snippet is not run")
	}
	from, to := period()
	ms := changes(120)
	ms = append(ms, Member{Subject: "acme/api@ünï ☃,\"x\"", OccurredAt: t0}, Member{Subject: "Acme/Z#1", OccurredAt: t0},
		// Subjects an access upload may choose: neutralised in the CSV,
		// restored by the snippet.
		Member{Subject: "=cmd|' /C calc'!A0", OccurredAt: t0}, Member{Subject: "'quoted", OccurredAt: t0}, Member{Subject: "-1", OccurredAt: t0})
	for _, req := range []Request{
		{From: from, To: to, Size: 17, Seed: "python"},
		{From: from, To: to, Frequency: "recurring"}, // generated seed
		{From: from, To: to, Size: 500, Seed: "all"},
	} {
		dir, m := export(t, &fakeSource{members: ms}, req)
		cmd := exec.Command(py, "-c", PythonSnippet)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "PYTHONIOENCODING=utf-8")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("python: %v\n%s", err, out)
		}
		got := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
		if strings.Join(got, "\n") != strings.Join(m.Sample, "\n") {
			t.Fatalf("seed %s: Python re-derived\n%v\nthe export drew\n%v", m.Seed, got, m.Sample)
		}
	}
}

// TestSnippetDocumented checks that the package documentation quotes the
// snippet verbatim.
func TestSnippetDocumented(t *testing.T) {
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	var quoted strings.Builder
	for _, line := range strings.Split(strings.TrimSuffix(PythonSnippet, "\n"), "\n") {
		quoted.WriteString("//\t" + line + "\n")
	}
	if !strings.Contains(string(doc), quoted.String()) {
		t.Errorf("doc.go does not quote PythonSnippet verbatim; it should contain:\n%s", quoted.String())
	}
}
