package main

import (
	"context"
	"flag"
	"fmt"
)

// statsTables are the tables `changeproof stats` counts.
var statsTables = []string{"raw_deliveries", "pull_requests", "reviews", "pushes", "protection_events", "deploys", "access_events", "dead_letters", "conflicts", "findings", "waivers"}

// runStats prints, per table of the local store, the number of distinct rows
// and of stored rows before replacement (re-written derived rows collapse;
// the raw log is never written twice).
func runStats(args []string) error {
	fs := flag.NewFlagSet("stats", flag.ContinueOnError)
	var c common
	c.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx := context.Background()
	_, st, closeStore, err := c.openLocal(ctx)
	if err != nil {
		return err
	}
	defer closeStore()
	fmt.Println("table\tdistinct\tstored")
	for _, t := range statsTables {
		n, err := st.Count(ctx, t)
		if err != nil {
			return err
		}
		phys, err := st.CountPhysical(ctx, t)
		if err != nil {
			return err
		}
		fmt.Printf("%s\t%d\t%d\n", t, n, phys)
	}
	return nil
}
