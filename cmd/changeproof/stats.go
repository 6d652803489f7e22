package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"strconv"

	"github.com/spf13/cobra"
)

// newStatsCmd is `changeproof stats`: per table, the number of distinct
// rows and of stored rows before replacement (re-written derived rows
// collapse; the raw log is never written twice).
func newStatsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "stats",
		Short: "Rows per table of the store (distinct and stored)",
		Long: `Print, per table of the store, the number of distinct rows (after
replacement) and of stored rows (before replacement: derived rows written
again collapse; the append-only raw log must show equal figures). The
table format is tab-separated with a header line; json is
{"tables": [{"table", "distinct", "stored"}]}. With --server the running
server counts (admin token).`,
		Example: `  changeproof stats --data-dir /var/lib/changeproof
  changeproof stats --format json --server https://changeproof.acme.io --token $ADMIN_TOKEN`,
		Args: cobra.NoArgs,
	}
	var s source
	s.register(cmd.Flags())
	format := cmd.Flags().String("format", "table", "table|json|csv")
	cmd.RunE = run(func(*cobra.Command, []string) error {
		if err := checkFormat(*format, "table", "json", "csv"); err != nil {
			return err
		}
		return s.withMaintenance(func(ctx context.Context, m maintenance) error {
			tables, err := m.Stats(ctx)
			if err != nil {
				return err
			}
			switch *format {
			case "json":
				return renderJSON(os.Stdout, map[string]any{"tables": tables})
			case "csv":
				cw := csv.NewWriter(os.Stdout)
				_ = cw.Write([]string{"table", "distinct", "stored"})
				for _, t := range tables {
					_ = cw.Write([]string{t.Table, strconv.FormatUint(t.Distinct, 10), strconv.FormatUint(t.Stored, 10)})
				}
				cw.Flush()
				return cw.Error()
			}
			fmt.Println("table\tdistinct\tstored")
			for _, t := range tables {
				fmt.Printf("%s\t%d\t%d\n", t.Table, t.Distinct, t.Stored)
			}
			return nil
		})
	})
	return cmd
}
