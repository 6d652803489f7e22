package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/changeproof/changeproof/api"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func newFindingsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "findings",
		Short: "List the controls' findings (current outcome per rule and subject)",
		Long: `List the findings: for every rule and subject (a change, a deploy, an
access event) its current outcome (pass, fail, pending, waived,
not_applicable, error) and the reason, as data an auditor can re-derive.
--history adds each subject's earlier outcomes.`,
		Example: `  changeproof findings --outcome fail --from 2026-01-01 --to 2026-03-31 --format csv
  changeproof findings --rule CM-3 --repo acme/payments-api --history --format json
  changeproof findings --server https://changeproof.acme.io --token $AUDITOR_TOKEN`,
		Args: cobra.NoArgs,
	}
	fs := cmd.Flags()
	var s source
	s.register(fs)
	rule := fs.String("rule", "", "only this rule, e.g. CM-2")
	outcome := fs.String("outcome", "", "only this outcome: pass|fail|pending|waived|not_applicable|error")
	repo := fs.String("repo", "", "only this repository (owner/name)")
	var p period
	p.register(fs)
	history := fs.Bool("history", false, "include earlier outcomes")
	format := fs.String("format", "table", "table|json|csv")
	cmd.RunE = run(func(*cobra.Command, []string) error {
		if err := checkFormat(*format, "table", "json", "csv"); err != nil {
			return err
		}
		q := api.FindingsQuery{Rule: *rule, Outcome: *outcome, Repo: *repo, History: *history}
		var err error
		if q.From, q.To, err = p.parse(); err != nil {
			return err
		}
		return s.withQueries(func(ctx context.Context, src queries) error {
			found, err := src.Findings(ctx, q)
			if err != nil {
				return err
			}
			return renderFindings(os.Stdout, *format, found)
		})
	})
	return cmd
}

func newChangesCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "changes",
		Short: "List the population of changes with their outcomes",
		Long: `List the population of changes: every merged pull request and direct push
to a default branch, with the current outcome of each change-management
control. This is the population an auditor samples from.`,
		Example: `  changeproof changes --in-scope --format table
  changeproof changes --in-scope --from 2026-01-01 --to 2026-06-30 --format csv > population.csv`,
		Args: cobra.NoArgs,
	}
	fs := cmd.Flags()
	var s source
	s.register(fs)
	repo := fs.String("repo", "", "only this repository (owner/name)")
	var p period
	p.register(fs)
	inScope := fs.Bool("in-scope", false, "only in-scope repositories")
	format := fs.String("format", "table", "table|json|csv")
	cmd.RunE = run(func(*cobra.Command, []string) error {
		if err := checkFormat(*format, "table", "json", "csv"); err != nil {
			return err
		}
		q := api.ChangesQuery{Repo: *repo, InScope: *inScope}
		var err error
		if q.From, q.To, err = p.parse(); err != nil {
			return err
		}
		return s.withQueries(func(ctx context.Context, src queries) error {
			cs, err := src.Changes(ctx, q)
			if err != nil {
				return err
			}
			return renderChanges(os.Stdout, *format, cs)
		})
	})
	return cmd
}

var subjectRE = regexp.MustCompile(`^([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+)(?:#([0-9]+)|@([0-9a-fA-F]{40}))$`)

func newEvidenceCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "evidence OWNER/REPO#N | OWNER/REPO@SHA",
		Short: "Show the evidence bundle of one change",
		Long: `Show everything recorded about one change (a pull request by number, or a
commit by its full SHA): the pull request, reviews and why each approval
did or did not count, pushes, deploys that shipped it, the waivers, and
every control's verdict with its reason.`,
		Example: `  changeproof evidence acme/payments-api#42
  changeproof evidence acme/payments-api@4f1c0e0b8a9d4c3e2f1a0b9c8d7e6f5a4b3c2d1e --format json`,
		Args: cobra.MaximumNArgs(1),
	}
	fs := cmd.Flags()
	var s source
	s.register(fs)
	format := fs.String("format", "table", "table|json")
	cmd.RunE = run(func(_ *cobra.Command, args []string) error {
		var subject string
		if len(args) > 0 {
			subject = args[0]
		}
		if err := checkFormat(*format, "table", "json"); err != nil {
			return err
		}
		m := subjectRE.FindStringSubmatch(subject)
		if m == nil {
			return fmt.Errorf("subject %q: want OWNER/REPO#NUMBER or OWNER/REPO@<40-hex sha>", subject)
		}
		owner, repo, num, sha := m[1], m[2], m[3], strings.ToLower(m[4])
		n, _ := strconv.Atoi(num)
		return s.withQueries(func(ctx context.Context, src queries) error {
			b, err := src.Bundle(ctx, owner+"/"+repo, n, sha)
			if err != nil {
				return err
			}
			return renderBundle(os.Stdout, *format, b)
		})
	})
	return cmd
}

// period is the --from/--to pair of the query commands.
type period struct{ from, to string }

func (p *period) register(fs *pflag.FlagSet) {
	fs.StringVar(&p.from, "from", "", "occurred at or after (RFC 3339 or YYYY-MM-DD, UTC)")
	fs.StringVar(&p.to, "to", "", "occurred at or before (inclusive; a date includes the whole day)")
}

func (p period) parse() (from, to time.Time, err error) {
	if from, err = api.ParseBound(p.from, false); err != nil {
		return from, to, fmt.Errorf("--from: %w", err)
	}
	if to, err = api.ParseBound(p.to, true); err != nil {
		return from, to, fmt.Errorf("--to: %w", err)
	}
	return from, to, nil
}

// queryValues keeps the non-empty parameters.
func queryValues(m map[string]string) url.Values {
	v := url.Values{}
	for k, val := range m {
		if val != "" {
			v.Set(k, val)
		}
	}
	return v
}

func checkFormat(got string, allowed ...string) error {
	for _, a := range allowed {
		if got == a {
			return nil
		}
	}
	return fmt.Errorf("--format: want %s, got %q", strings.Join(allowed, "|"), got)
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
