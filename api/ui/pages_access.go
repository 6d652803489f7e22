package ui

import (
	"net/http"
	"strings"
	"time"

	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/rules"
	"github.com/changeproof/changeproof/rules/control"
)

// Access ------------------------------------------------------------------

type accessPage struct {
	P                 period
	System, Principal string
	Events            []accessRow
	Shown, Total      int
}

type accessRow struct {
	model.AccessEvent
	Subject  string
	Outcomes map[string]string
}

func (a accessPage) title() string    { return "Access events" }
func (a accessPage) periodOf() period { return a.P }

func (h *Handler) access(w http.ResponseWriter, r *http.Request, v *session) {
	q := r.URL.Query()
	p, err := h.periodOf(q)
	if err != nil {
		h.badRequest(w, r, v, err.Error())
		return
	}
	ap := accessPage{P: p, System: strings.TrimSpace(q.Get("system")), Principal: strings.TrimSpace(q.Get("principal"))}
	es, err := h.Service.Store.AccessBetween(r.Context(), p.FromTime, p.ToTime.Add(time.Millisecond))
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	outcomes, err := h.Service.Store.Outcomes(r.Context(), rules.InPopulation(control.PopulationAccess))
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	for _, e := range es {
		if (ap.System != "" && e.System != ap.System) || (ap.Principal != "" && e.Principal != ap.Principal) {
			continue
		}
		ap.Total++
		if len(ap.Events) < maxRows {
			ap.Events = append(ap.Events, accessRow{AccessEvent: e, Subject: e.Subject(), Outcomes: outcomes[e.Subject()]})
		}
	}
	ap.Shown = len(ap.Events)
	h.render(w, r, v, http.StatusOK, "access", ap)
}
