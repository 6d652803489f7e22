package main

import (
	"context"
	"encoding/csv"
	"flag"
	"fmt"
	"os"
	"strconv"
	"text/tabwriter"
)

// runConflicts lists the events refused because their id already held
// other bytes: each is kept, bytes and all, as evidence of the attempt;
// the first event with that id stays the evidence.
func runConflicts(args []string) error {
	fs := flag.NewFlagSet("conflicts", flag.ContinueOnError)
	var c common
	c.register(fs)
	limit := fs.Int("limit", 0, "at most this many (0: all)")
	format := fs.String("format", "table", "table|json|csv")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := checkFormat(*format, "table", "json", "csv"); err != nil {
		return err
	}
	ctx := context.Background()
	_, st, closeStore, err := c.openLocal(ctx)
	if err != nil {
		return err
	}
	defer closeStore()
	cs, err := st.Conflicts(ctx, *limit)
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
}
