package ui

import (
	"fmt"
	"net/http"

	"github.com/changeproof/changeproof/api"
	"github.com/changeproof/changeproof/model"
)

// Findings ----------------------------------------------------------------

type findingsPage struct {
	P                   period
	Rule, Outcome, Repo string
	Rules               []string
	Outcomes            []model.Outcome
	Findings            []api.FindingView
	Shown, Total        int
}

func (f findingsPage) title() string    { return "Findings" }
func (f findingsPage) periodOf() period { return f.P }

// maxRows bounds the rows a page lists; the filters narrow the rest.
const maxRows = 1000

func (h *Handler) findings(w http.ResponseWriter, r *http.Request, v *session) {
	q := r.URL.Query()
	p, err := h.periodOf(q)
	if err != nil {
		h.badRequest(w, r, v, err.Error())
		return
	}
	fp := findingsPage{P: p, Rule: q.Get("rule"), Outcome: q.Get("outcome"), Repo: q.Get("repo"), Outcomes: model.Outcomes}
	fp.Rules = h.catalogue()
	if fp.Outcome != "" && !validOutcome(fp.Outcome) {
		h.badRequest(w, r, v, fmt.Sprintf("Outcome %q: choose one of the list.", fp.Outcome))
		return
	}
	fs, err := h.Service.Findings(r.Context(), api.FindingsQuery{Rule: fp.Rule, Outcome: fp.Outcome, Repo: fp.Repo,
		From: p.FromTime, To: p.ToTime})
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	fp.Total = len(fs)
	if len(fs) > maxRows {
		fs = fs[:maxRows]
	}
	fp.Findings, fp.Shown = fs, len(fs)
	h.render(w, r, v, http.StatusOK, "findings", fp)
}

// catalogue lists the control ids for the rule filter.
func (h *Handler) catalogue() []string {
	var ids []string
	for _, d := range catalogue() {
		ids = append(ids, d.ID)
	}
	return ids
}

func validOutcome(s string) bool {
	for _, o := range model.Outcomes {
		if string(o) == s {
			return true
		}
	}
	return false
}
