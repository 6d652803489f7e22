package main

import (
	"context"
	"fmt"

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
again collapse; the append-only raw log must show equal figures). With
--server the running server counts (admin token).`,
		Example: `  changeproof stats --data-dir /var/lib/changeproof
  changeproof stats --server https://changeproof.acme.io --token $ADMIN_TOKEN`,
		Args: cobra.NoArgs,
	}
	var s source
	s.register(cmd.Flags())
	cmd.RunE = run(func(*cobra.Command, []string) error {
		return s.withMaintenance(func(ctx context.Context, m maintenance) error {
			tables, err := m.Stats(ctx)
			if err != nil {
				return err
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
