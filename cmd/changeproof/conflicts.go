package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

// newConflictsCmd lists the events refused because their id already held
// other bytes: each is kept, bytes and all, as evidence of the attempt;
// the first event with that id stays the evidence.
func newConflictsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "conflicts",
		Short: "List events refused because their id held other bytes (kept as evidence)",
		Long: `List the conflicts, oldest first: events refused because their id (a
GitHub delivery id, a deploy or access event id) already held other bytes.
The first event with that id stays the evidence; each refused attempt is
kept with its bytes and hash. With --server the running server answers
(admin token).`,
		Example: `  changeproof conflicts
  changeproof conflicts --format csv --server https://changeproof.acme.io --token $ADMIN_TOKEN`,
		Args: cobra.NoArgs,
	}
	fs := cmd.Flags()
	var s source
	s.register(fs)
	limit := fs.Int("limit", 0, "at most this many (0: all)")
	format := fs.String("format", "table", "table|json|csv")
	cmd.RunE = run(func(*cobra.Command, []string) error {
		if err := checkFormat(*format, "table", "json", "csv"); err != nil {
			return err
		}
		return s.withMaintenance(func(ctx context.Context, m maintenance) error {
			cs, err := m.Conflicts(ctx, *limit)
			if err != nil {
				return err
			}
			switch *format {
			case "json":
				return renderJSON(os.Stdout, map[string]any{"conflicts": cs})
			case "csv":
				cw := csv.NewWriter(os.Stdout)
				_ = cw.Write([]string{"received_at", "source", "id", "event", "kept_sha256", "sha256", "bytes"})
				for _, c := range cs {
					_ = cw.Write([]string{fmtTime(c.ReceivedAt.T()), c.Source, c.ID, c.Event, c.KeptSHA256, c.SHA256, strconv.FormatUint(c.Bytes, 10)})
				}
				cw.Flush()
				return cw.Error()
			}
			tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "RECEIVED\tSOURCE\tID\tKEPT (EVIDENCE)\tREFUSED\tBYTES")
			for _, c := range cs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\n", fmtTime(c.ReceivedAt.T()), c.Source, c.ID, c.KeptSHA256[:min(12, len(c.KeptSHA256))],
					c.SHA256[:min(12, len(c.SHA256))], c.Bytes)
			}
			fmt.Fprintf(tw, "\n%d conflicts: the first event of each id stays the evidence\n", len(cs))
			return tw.Flush()
		})
	})
	return cmd
}
