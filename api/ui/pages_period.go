package ui

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/changeproof/changeproof/api"
	"github.com/changeproof/changeproof/audit/report"
)

// period is the observation window the pages show, as typed and parsed.
type period struct {
	From, To         string // as given (YYYY-MM-DD)
	FromTime, ToTime time.Time
}

// periodOf reads from/to, defaulting to the year to date (UTC).
func (h *Handler) periodOf(q url.Values) (period, error) {
	now := h.now().UTC()
	p := period{From: strings.TrimSpace(q.Get("from")), To: strings.TrimSpace(q.Get("to"))}
	if p.From == "" {
		p.From = time.Date(now.Year(), 1, 1, 0, 0, 0, 0, time.UTC).Format("2006-01-02")
	}
	if p.To == "" {
		p.To = now.Format("2006-01-02")
	}
	var err error
	if p.FromTime, err = api.ParseBound(p.From, false); err != nil {
		return p, fmt.Errorf("From: %w", err)
	}
	if p.ToTime, err = api.ParseBound(p.To, true); err != nil {
		return p, fmt.Errorf("To: %w", err)
	}
	if p.ToTime.Before(p.FromTime) {
		return p, errors.New("To is before From")
	}
	return p, nil
}

// Overview ----------------------------------------------------------------

type overviewPage struct {
	P      period
	Report *report.Report
}

func (o overviewPage) title() string    { return "Controls overview" }
func (o overviewPage) periodOf() period { return o.P }

func (h *Handler) overview(w http.ResponseWriter, r *http.Request, v *session) {
	h.periodReport(w, r, v, "overview", func(p period, rep *report.Report) any { return overviewPage{P: p, Report: rep} })
}

// periodReport renders a page built from the period report of the
// period the query names: the overview and the exceptions read the same.
func (h *Handler) periodReport(w http.ResponseWriter, r *http.Request, v *session, name string, page func(period, *report.Report) any) {
	p, err := h.periodOf(r.URL.Query())
	if err != nil {
		h.badRequest(w, r, v, err.Error())
		return
	}
	rep, err := h.Reporter.Report(r.Context(), p.FromTime, p.ToTime)
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	h.render(w, r, v, http.StatusOK, name, page(p, rep))
}

// Exceptions --------------------------------------------------------------

type exceptionsPage struct {
	P      period
	Report *report.Report
}

func (e exceptionsPage) title() string    { return "Exceptions" }
func (e exceptionsPage) periodOf() period { return e.P }

func (h *Handler) exceptions(w http.ResponseWriter, r *http.Request, v *session) {
	h.periodReport(w, r, v, "exceptions", func(p period, rep *report.Report) any { return exceptionsPage{P: p, Report: rep} })
}

// Report download ---------------------------------------------------------

func (h *Handler) report(w http.ResponseWriter, r *http.Request, v *session) {
	q := r.URL.Query()
	p, err := h.periodOf(q)
	if err != nil {
		h.badRequest(w, r, v, err.Error())
		return
	}
	format := q.Get("format")
	if format != report.FormatHTML && format != report.FormatOSCAL {
		format = report.FormatHTML
	}
	files, err := h.Reporter.Files(r.Context(), p.FromTime, p.ToTime, format)
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	body, err := api.ZipFiles(files)
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="report-%s-%s-%s.zip"`,
		p.FromTime.Format("20060102"), p.ToTime.Format("20060102"), format))
	_, _ = w.Write(body)
}
