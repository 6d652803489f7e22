package ui

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/changeproof/changeproof/api"
	"github.com/changeproof/changeproof/audit"
	"github.com/changeproof/changeproof/model"
)

// Change ------------------------------------------------------------------

type changePage struct {
	Bundle *api.Bundle
	// Other lists recorded fields of the change the page has no section
	// for (e.g. fields added by newer sources), as JSON.
	Other []kv
}

type kv struct{ Key, Value string }

func (c changePage) title() string { return "Change " + c.Bundle.Subject }

// ChangeLink is the workspace page of a change subject (OWNER/REPO#N or
// OWNER/REPO@sha), or "" for other subjects.
func ChangeLink(subject string) string {
	if repo, n, ok := strings.Cut(subject, "#"); ok && strings.Count(repo, "/") == 1 {
		if _, err := strconv.Atoi(n); err == nil {
			return "/ui/changes/" + repo + "/" + n
		}
	}
	if repo, sha, ok := strings.Cut(subject, "@"); ok && strings.Count(repo, "/") == 1 && len(sha) == 40 {
		return "/ui/changes/" + repo + "/commit/" + sha
	}
	return ""
}

func (h *Handler) change(w http.ResponseWriter, r *http.Request, v *session, rest string) {
	parts := strings.Split(rest, "/")
	var b *api.Bundle
	var err error
	switch {
	case len(parts) == 3:
		n, perr := strconv.Atoi(parts[2])
		if perr != nil || n <= 0 {
			h.badRequest(w, r, v, "A change is OWNER/REPO/NUMBER or OWNER/REPO/commit/SHA.")
			return
		}
		b, err = h.Service.BundleFor(r.Context(), parts[0]+"/"+parts[1], n, "")
	case len(parts) == 4 && parts[2] == "commit":
		b, err = h.Service.BundleFor(r.Context(), parts[0]+"/"+parts[1], 0, strings.ToLower(parts[3]))
	default:
		h.badRequest(w, r, v, "A change is OWNER/REPO/NUMBER or OWNER/REPO/commit/SHA.")
		return
	}
	if errors.Is(err, api.ErrNotFound) {
		h.render(w, r, v, http.StatusNotFound, "error", errorPage{Title: "No such change", Message: "No change with that address has evidence."})
		return
	}
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	h.render(w, r, v, http.StatusOK, "change", changePage{Bundle: b, Other: otherFields(b.Change)})
}

// shown are the change fields the page has a section for.
var shown = map[string]bool{"subject": true, "kind": true, "repo": true, "occurred_at": true, "url": true, "number": true,
	"author": true, "merged_by": true, "title": true, "body": true, "head_ref": true, "head_sha": true,
	"merge_commit_sha": true, "labels": true, "reviews": true, "sha": true, "before": true, "pusher": true, "messages": true}

func otherFields(c model.Change) []kv {
	raw, err := json.Marshal(c)
	if err != nil {
		return nil
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	var out []kv
	for k, val := range m {
		if !shown[k] {
			var pretty bytes.Buffer
			_ = json.Indent(&pretty, val, "", "  ")
			out = append(out, kv{k, pretty.String()})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// Evidence of a deploy or an access event ----------------------------------

type evidencePage struct {
	Kind   string // "deploy" or "access event"
	Bundle *api.OtherBundle
	Record []kv // the deploy's or event's fields
}

func (e evidencePage) title() string { return "Evidence of " + e.Bundle.Subject }

// SubjectLink is the workspace page of any subject: a change's page, or the
// evidence page of a deploy (SERVICE@ENV@ID) or an access event (SYSTEM:ID).
func SubjectLink(subject string) string {
	if l := ChangeLink(subject); l != "" {
		return l
	}
	if populationOf(subject) == "" {
		return ""
	}
	return "/ui/evidence?" + url.Values{"subject": {subject}}.Encode()
}

// populationOf says which population a subject that is not a change
// belongs to, from its shape; "" when neither.
func populationOf(subject string) string {
	switch {
	case strings.Contains(subject, "/"):
		return ""
	case strings.Count(subject, "@") == 2:
		return audit.PopulationDeploys
	case strings.Contains(subject, ":"):
		return audit.PopulationAccess
	}
	return ""
}

func (h *Handler) evidence(w http.ResponseWriter, r *http.Request, v *session) {
	subject := r.URL.Query().Get("subject")
	if l := ChangeLink(subject); l != "" {
		http.Redirect(w, r, l, http.StatusSeeOther)
		return
	}
	pop := populationOf(subject)
	if pop == "" || h.Audit == nil {
		h.badRequest(w, r, v, "A subject is a change (OWNER/REPO#N, OWNER/REPO@SHA), a deploy (SERVICE@ENVIRONMENT@ID) or an access event (SYSTEM:ID).")
		return
	}
	bs, err := h.Audit.Bundles(r.Context(), pop, []string{subject})
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	b, _ := bs[0].(*api.OtherBundle)
	if b == nil || (b.Deploy == nil && b.Access == nil && len(b.Findings) == 0) {
		h.render(w, r, v, http.StatusNotFound, "error", errorPage{Title: "No such subject", Message: "Nothing is recorded about " + subject + "."})
		return
	}
	ep := evidencePage{Bundle: b, Kind: "access event"}
	var record any = b.Access
	if pop == audit.PopulationDeploys {
		ep.Kind, record = "deploy", b.Deploy
	}
	if (pop == audit.PopulationDeploys && b.Deploy != nil) || (pop == audit.PopulationAccess && b.Access != nil) {
		ep.Record = fieldsOf(record)
	}
	h.render(w, r, v, http.StatusOK, "evidence", ep)
}

// fieldsOf lists a record's JSON fields, in name order, empty ones left out.
func fieldsOf(v any) []kv {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	var out []kv
	for k, val := range m {
		if val == nil || val == "" {
			continue
		}
		s, ok := val.(string)
		if !ok {
			b, _ := json.Marshal(val)
			s = string(b)
		}
		out = append(out, kv{k, s})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}
