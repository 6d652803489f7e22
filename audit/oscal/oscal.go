// Package oscal renders a period report as NIST OSCAL 1.1 assessment
// results (assessment-results.json): one result whose start and end are the
// period, one observation per finding of the period (its outcome, reason
// and evidence link), and one OSCAL finding per control that failed, with
// the observations of its fails as related observations.
//
// Identifiers are name-based (UUID version 5) over the period, the control
// and the subject, so the same data gives the same document; only
// metadata.last-modified (the generation time) differs between two runs.
package oscal

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/changeproof/changeproof/audit/report"
	"github.com/changeproof/changeproof/model"
)

// Version is the OSCAL version the document declares.
const Version = "1.1.3"

// NS qualifies changeproof's own property names.
const NS = "https://github.com/changeproof/changeproof/ns/oscal"

// space is the UUID v5 namespace of every identifier here.
var space = uuid.NewSHA1(uuid.NameSpaceURL, []byte(NS))

func id(parts ...string) string {
	return uuid.NewSHA1(space, []byte(strings.Join(parts, "\x00"))).String()
}

// Document is the root object.
type Document struct {
	AssessmentResults AssessmentResults `json:"assessment-results"`
}

// AssessmentResults is the assessment-results assembly.
type AssessmentResults struct {
	UUID     string   `json:"uuid"`
	Metadata Metadata `json:"metadata"`
	ImportAP ImportAP `json:"import-ap"`
	Results  []Result `json:"results"`
}

// Metadata is the document's metadata.
type Metadata struct {
	Title        string `json:"title"`
	LastModified string `json:"last-modified"`
	Version      string `json:"version"`
	OSCALVersion string `json:"oscal-version"`
	Props        []Prop `json:"props,omitempty"`
	Remarks      string `json:"remarks,omitempty"`
}

// ImportAP points at the assessment plan.
type ImportAP struct {
	Href    string `json:"href"`
	Remarks string `json:"remarks,omitempty"`
}

// Result is one set of results: the period.
type Result struct {
	UUID             string           `json:"uuid"`
	Title            string           `json:"title"`
	Description      string           `json:"description"`
	Start            string           `json:"start"`
	End              string           `json:"end"`
	Props            []Prop           `json:"props,omitempty"`
	ReviewedControls ReviewedControls `json:"reviewed-controls"`
	Observations     []Observation    `json:"observations,omitempty"`
	Findings         []Finding        `json:"findings,omitempty"`
}

// ReviewedControls says which controls were reviewed.
type ReviewedControls struct {
	Description       string             `json:"description,omitempty"`
	ControlSelections []ControlSelection `json:"control-selections"`
}

// ControlSelection selects controls.
type ControlSelection struct {
	Description string   `json:"description,omitempty"`
	IncludeAll  struct{} `json:"include-all"`
}

// Observation is one finding of changeproof.
type Observation struct {
	UUID             string     `json:"uuid"`
	Title            string     `json:"title"`
	Description      string     `json:"description"`
	Props            []Prop     `json:"props"`
	Methods          []string   `json:"methods"`
	Types            []string   `json:"types,omitempty"`
	RelevantEvidence []Evidence `json:"relevant-evidence,omitempty"`
	Collected        string     `json:"collected"`
}

// Evidence links an observation's evidence.
type Evidence struct {
	Href        string `json:"href"`
	Description string `json:"description"`
}

// Finding is one failed control.
type Finding struct {
	UUID                string       `json:"uuid"`
	Title               string       `json:"title"`
	Description         string       `json:"description"`
	Props               []Prop       `json:"props,omitempty"`
	Target              Target       `json:"target"`
	RelatedObservations []RelatedObs `json:"related-observations"`
	Remarks             string       `json:"remarks,omitempty"`
}

// Target is the objective a finding is about.
type Target struct {
	Type     string `json:"type"`
	TargetID string `json:"target-id"`
	Title    string `json:"title,omitempty"`
	Status   Status `json:"status"`
}

// Status is the objective's state.
type Status struct {
	State  string `json:"state"`
	Reason string `json:"reason,omitempty"`
}

// RelatedObs refers to an observation.
type RelatedObs struct {
	ObservationUUID string `json:"observation-uuid"`
}

// Prop is a name/value property.
type Prop struct {
	Name  string `json:"name"`
	NS    string `json:"ns,omitempty"`
	Value string `json:"value"`
}

const stamp = time.RFC3339Nano

// Build maps a report to OSCAL assessment results.
func Build(r *report.Report) *Document {
	from, to := r.Period.From.Format(stamp), r.Period.To.Format(stamp)
	res := Result{
		UUID:  id("result", from, to),
		Title: fmt.Sprintf("Change management and production access, %s to %s", r.Period.From.Format("2006-01-02"), r.Period.To.Format("2006-01-02")),
		Description: "Every control of changeproof judged every change, deploy and access event whose event time lies in the period; " +
			"each observation is the current verdict on one subject, each finding a control with at least one failing subject.",
		Start: from, End: to,
		ReviewedControls: ReviewedControls{
			Description:       "Every control of the changeproof catalogue: " + controlList(r),
			ControlSelections: []ControlSelection{{Description: "All controls in the catalogue"}},
		},
	}
	for _, h := range r.ChainHeads {
		name := h.Chain
		if name == "" {
			name = "default"
		}
		res.Props = append(res.Props, Prop{Name: "raw-log-chain-head", NS: NS, Value: fmt.Sprintf("%s %d %s", name, h.Seq, h.Hash)})
	}
	obsOf := map[string][]string{} // control -> observation uuids of its fails
	for _, f := range findingsOf(r) {
		o := Observation{
			UUID:        id("observation", from, to, f.Rule, f.Subject),
			Title:       fmt.Sprintf("%s %s: %s", f.Rule, f.Subject, f.Outcome),
			Description: nonEmpty(f.Reason, string(f.Outcome)),
			Props: []Prop{
				{Name: "control", NS: NS, Value: f.Rule},
				{Name: "subject", NS: NS, Value: token(f.Subject)},
				{Name: "outcome", NS: NS, Value: string(f.Outcome)},
				{Name: "occurred-at", NS: NS, Value: f.OccurredAt.Format(stamp)},
			},
			Methods:   []string{"TEST"},
			Collected: f.EvaluatedAt.Format(stamp),
		}
		if f.Outcome == model.Fail {
			o.Types = []string{"finding"}
			obsOf[f.Rule] = append(obsOf[f.Rule], o.UUID)
		}
		if f.URL != "" {
			o.RelevantEvidence = []Evidence{{Href: f.URL, Description: "The change, deploy or event the verdict is about."}}
		}
		res.Observations = append(res.Observations, o)
	}
	for _, c := range r.Controls {
		if len(obsOf[c.ID]) == 0 {
			continue
		}
		f := Finding{
			UUID:  id("finding", from, to, c.ID),
			Title: fmt.Sprintf("%s %s: %d of %d tested failed", c.ID, c.Name, c.Outcomes[model.Fail], c.Tested),
			Description: fmt.Sprintf("%s %d subjects judged, %d failed, %d waived; exception rate %s.",
				nonEmpty(c.Question, c.ID), c.Population, c.Outcomes[model.Fail], c.Outcomes[model.Waived], report.Percent(c.ExceptionRate)),
			Target: Target{Type: "objective-id", TargetID: c.ID, Title: c.Name,
				Status: Status{State: "not-satisfied", Reason: "fail"}},
			Remarks: c.Remediation,
		}
		for _, u := range obsOf[c.ID] {
			f.RelatedObservations = append(f.RelatedObservations, RelatedObs{ObservationUUID: u})
		}
		res.Findings = append(res.Findings, f)
	}
	return &Document{AssessmentResults: AssessmentResults{
		UUID: id("assessment-results", from, to),
		Metadata: Metadata{
			Title:        "changeproof assessment results, " + res.Title,
			LastModified: r.GeneratedAt.Format(stamp),
			Version:      nonEmpty(r.ToolVersion, "dev"),
			OSCALVersion: Version,
			Props:        []Prop{{Name: "report-format", NS: NS, Value: r.Format}},
		},
		ImportAP: ImportAP{Href: "#continuous-monitoring",
			Remarks: "No separate assessment plan: changeproof judges every change, deploy and access event continuously against its control catalogue."},
		Results: []Result{res},
	}}
}

// flat is a report finding as Build reads it.
type flat struct {
	Rule, Subject, Reason, URL string
	Outcome                    model.Outcome
	OccurredAt, EvaluatedAt    time.Time
}

// findingsOf lists the report's findings. A report carries counts and
// exceptions, not every finding; Render is given the findings too.
func findingsOf(r *report.Report) []flat {
	out := make([]flat, 0, len(r.Findings))
	for _, f := range r.Findings {
		out = append(out, flat{Rule: f.Rule, Subject: f.Subject, Reason: f.Reason, URL: f.Evidence.URL, Outcome: f.Outcome,
			OccurredAt: f.OccurredAt.UTC(), EvaluatedAt: f.EvaluatedAt.UTC()})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Rule != out[j].Rule {
			return out[i].Rule < out[j].Rule
		}
		return out[i].Subject < out[j].Subject
	})
	return out
}

func controlList(r *report.Report) string {
	ids := make([]string, len(r.Controls))
	for i, c := range r.Controls {
		ids[i] = c.ID
	}
	return strings.Join(ids, ", ")
}

// token makes a property value OSCAL accepts: no leading or trailing
// white space, not empty.
func token(s string) string { return nonEmpty(strings.TrimSpace(s), "-") }

func nonEmpty(s, alt string) string {
	if strings.TrimSpace(s) == "" {
		return alt
	}
	return s
}

// Render is a report.Renderer: assessment-results.json, indented, with a
// trailing newline.
func Render(r *report.Report) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(Build(r)); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
