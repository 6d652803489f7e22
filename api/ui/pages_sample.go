package ui

import (
	"bytes"
	"fmt"
	"net/http"

	"go.uber.org/zap"

	"github.com/changeproof/changeproof/api"
	"github.com/changeproof/changeproof/audit"
)

// Sample ------------------------------------------------------------------

type samplePage struct {
	P                                 period
	Size, Frequency, Seed, Population string
	Populations, Frequencies          []string
	Error                             string
}

func (s samplePage) title() string    { return "Draw a sample" }
func (s samplePage) periodOf() period { return s.P }

func (h *Handler) sample(w http.ResponseWriter, r *http.Request, v *session) {
	form := r.URL.Query()
	if r.Method == http.MethodPost {
		form = r.PostForm
	}
	p, perr := h.periodOf(form)
	sp := samplePage{P: p, Size: form.Get("size"), Frequency: form.Get("frequency"), Seed: form.Get("seed"),
		Population: form.Get("population"), Populations: audit.Populations,
		Frequencies: []string{"annual", "quarterly", "monthly", "weekly", "daily", "recurring"}}
	if sp.Population == "" {
		sp.Population = audit.PopulationChanges
	}
	if r.Method == http.MethodGet {
		if sp.Size == "" {
			sp.Size = "25"
		}
		h.render(w, r, v, http.StatusOK, "sample", sp)
		return
	}
	if perr != nil {
		sp.Error = perr.Error()
		h.render(w, r, v, http.StatusBadRequest, "sample", sp)
		return
	}
	req, err := api.ParseSample(api.SampleRequest{From: p.From, To: p.To, Size: sp.Size, Frequency: sp.Frequency,
		Seed: sp.Seed, Population: sp.Population}, h.Version)
	if err != nil {
		sp.Error = err.Error()
		h.render(w, r, v, http.StatusBadRequest, "sample", sp)
		return
	}
	if h.ChainHead != nil {
		if req.ChainHead, err = h.ChainHead(r.Context()); err != nil {
			h.fail(w, r, v, err)
			return
		}
	}
	req.Signer = h.Signer
	var buf bytes.Buffer
	m, err := audit.ExportZip(r.Context(), *h.Audit, req, &buf)
	if err != nil {
		sp.Error = err.Error()
		h.render(w, r, v, http.StatusBadRequest, "sample", sp)
		return
	}
	h.log().Info("ui: sample drawn", zap.String("name", v.name), zap.Int("population", m.PopulationSize),
		zap.Int("drawn", m.SampleSizeDrawn), zap.String("seed", m.Seed))
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="sample-%s-%s-%s.zip"`, m.Population,
		m.Period.From.Format("20060102"), m.Period.To.Format("20060102")))
	_, _ = w.Write(buf.Bytes())
}
