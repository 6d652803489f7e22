package main

import (
	"context"
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

// newDeadlettersCmd lists accepted events that could not be used, newest
// first.
func newDeadlettersCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "deadletters",
		Short: "List accepted events that could not be derived, with the reason",
		Long: `List the dead letters, newest first: events that were accepted and logged
but could not be derived into records (a malformed payload, a field out of
range), each with the reason. They stay in the raw log; the log moved on.
With --server the running server answers (admin token).`,
		Example: `  changeproof deadletters --limit 20
  changeproof deadletters --format json --server https://changeproof.acme.io --token $ADMIN_TOKEN`,
		Args: cobra.NoArgs,
	}
	fs := cmd.Flags()
	var s source
	s.register(fs)
	limit := fs.Int("limit", 100, "at most this many")
	format := fs.String("format", "table", "table|json")
	cmd.RunE = run(func(*cobra.Command, []string) error {
		if err := checkFormat(*format, "table", "json"); err != nil {
			return err
		}
		return s.withMaintenance(func(ctx context.Context, m maintenance) error {
			dls, err := m.DeadLetters(ctx, *limit)
			if err != nil {
				return err
			}
			if *format == "json" {
				return renderJSON(os.Stdout, map[string]any{"deadletters": dls})
			}
			tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "RECEIVED\tSOURCE\tEVENT\tID\tREASON")
			for _, d := range dls {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", fmtTime(d.ReceivedAt.T()), d.Source, d.Event, d.DeliveryID, d.Reason)
			}
			fmt.Fprintf(tw, "\n%d dead letters\n", len(dls))
			return tw.Flush()
		})
	})
	return cmd
}
