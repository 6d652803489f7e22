package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/changeproof/changeproof/api"
	"github.com/changeproof/changeproof/internal/csvsafe"
)

func renderJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

func renderFindings(w io.Writer, format string, fs []api.FindingView) error {
	switch format {
	case "json":
		return renderJSON(w, map[string]any{"findings": fs})
	case "csv":
		cw := csv.NewWriter(w)
		_ = cw.Write([]string{"rule", "subject", "outcome", "reason", "occurred_at", "evaluated_at", "url"})
		for _, f := range fs {
			_ = cw.Write(csvsafe.Row([]string{f.Rule, f.Subject, string(f.Outcome), f.Reason, fmtTime(f.OccurredAt), fmtTime(f.EvaluatedAt), f.Evidence.URL}))
		}
		cw.Flush()
		return cw.Error()
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RULE\tSUBJECT\tOUTCOME\tOCCURRED\tREASON")
	for _, f := range fs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", f.Rule, f.Subject, f.Outcome, fmtTime(f.OccurredAt), f.Reason)
		for _, h := range f.History {
			fmt.Fprintf(tw, "\t\t  %s\t%s\t(evaluated %s) %s\n", h.Outcome, "", fmtTime(h.EvaluatedAt), h.Reason)
		}
	}
	fmt.Fprintf(tw, "\n%d findings\n", len(fs))
	return tw.Flush()
}

func ruleColumns(cs []api.ChangeView) []string {
	set := map[string]bool{}
	for _, c := range cs {
		for r := range c.Outcomes {
			set[r] = true
		}
	}
	var rs []string
	for r := range set {
		rs = append(rs, r)
	}
	sort.Strings(rs)
	return rs
}

func renderChanges(w io.Writer, format string, cs []api.ChangeView) error {
	rules := ruleColumns(cs)
	switch format {
	case "json":
		return renderJSON(w, map[string]any{"changes": cs})
	case "csv":
		cw := csv.NewWriter(w)
		_ = cw.Write(append([]string{"subject", "kind", "repo", "sha", "occurred_at", "actor", "title", "url", "in_scope"}, rules...))
		for _, c := range cs {
			row := []string{c.Subject, c.Kind, c.Repo, c.SHA, fmtTime(c.OccurredAt), c.Actor, c.Title, c.URL, fmt.Sprint(c.InScope)}
			for _, r := range rules {
				row = append(row, c.Outcomes[r])
			}
			_ = cw.Write(csvsafe.Row(row))
		}
		cw.Flush()
		return cw.Error()
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "SUBJECT\tKIND\tOCCURRED\tACTOR\t%s\n", strings.Join(rules, "\t"))
	for _, c := range cs {
		var os []string
		for _, r := range rules {
			o := c.Outcomes[r]
			if o == "" {
				o = "-"
			}
			os = append(os, o)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.Subject, c.Kind, fmtTime(c.OccurredAt), c.Actor, strings.Join(os, "\t"))
	}
	fmt.Fprintf(tw, "\n%d changes\n", len(cs))
	return tw.Flush()
}

func renderBundle(w io.Writer, format string, b *api.Bundle) error {
	if format == "json" {
		return renderJSON(w, b)
	}
	c := b.Change
	fmt.Fprintf(w, "%s (%s)  in scope: %v\n", b.Subject, c.Kind, b.InScope)
	if c.URL != "" {
		fmt.Fprintf(w, "  %s\n", c.URL)
	}
	if c.Number > 0 {
		fmt.Fprintf(w, "  title:     %s\n  author:    %s\n  merged by: %s at %s\n  head:      %s\n  merge:     %s\n",
			c.Title, c.Author, c.MergedBy, fmtTime(c.OccurredAt), c.HeadSHA, c.MergeCommitSHA)
		if len(c.Labels) > 0 {
			fmt.Fprintf(w, "  labels:    %s\n", strings.Join(c.Labels, ", "))
		}
	} else {
		fmt.Fprintf(w, "  pushed by: %s at %s\n  sha:       %s\n", c.Pusher, fmtTime(c.OccurredAt), c.SHA)
	}
	fmt.Fprintln(w, "\nReviews:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, r := range b.ReviewVerdicts {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", r.Reviewer, r.State, r.CommitID, fmtTime(r.SubmittedAt), r.Why)
	}
	if len(b.ReviewVerdicts) == 0 {
		for _, r := range c.Reviews {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", r.Reviewer, r.Action, r.State, r.CommitID, fmtTime(r.SubmittedAt))
		}
	}
	tw.Flush()
	fmt.Fprintln(w, "\nPushes:")
	for _, p := range b.Pushes {
		fmt.Fprintf(w, "  %s %s..%s by %s at %s (delivery %s)\n", p.Ref, p.Before, p.After, p.Pusher, fmtTime(p.PushedAt), p.DeliveryID)
	}
	if len(b.Deploys) > 0 {
		fmt.Fprintln(w, "\nShipped by:")
		for _, d := range b.Deploys {
			fmt.Fprintf(w, "  %s at %s (%s) %s\n", d.Subject, fmtTime(d.OccurredAt()), d.Outcome, d.Reason)
		}
	}
	fmt.Fprintln(w, "\nFindings:")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, f := range b.Findings {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", f.Rule, f.Subject, f.Outcome, f.Reason)
	}
	return tw.Flush()
}
