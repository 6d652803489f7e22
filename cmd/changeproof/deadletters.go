package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"text/tabwriter"
)

// runDeadletters lists accepted events that could not be used, newest first.
func runDeadletters(args []string) error {
	fs := flag.NewFlagSet("deadletters", flag.ContinueOnError)
	var c common
	c.register(fs)
	limit := fs.Int("limit", 100, "at most this many")
	format := fs.String("format", "table", "table|json")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := checkFormat(*format, "table", "json"); err != nil {
		return err
	}
	ctx := context.Background()
	_, st, closeStore, err := c.openLocal(ctx)
	if err != nil {
		return err
	}
	defer closeStore()
	dls, err := st.DeadLetters(ctx, *limit)
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
}
