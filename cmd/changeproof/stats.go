package main

import (
	"context"
	"flag"
	"fmt"
)

// statsTables are the tables `changeproof stats` counts.
var statsTables = []string{"raw_deliveries", "pull_requests", "reviews", "pushes", "protection_events", "dead_letters", "findings"}

// runStats prints the number of distinct rows per table of the local store:
// a quick check that replays did not duplicate anything.
func runStats(args []string) error {
	fs := flag.NewFlagSet("stats", flag.ContinueOnError)
	var c common
	c.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := c.load()
	if err != nil {
		return err
	}
	ctx := context.Background()
	db, st, err := openStore(ctx, cfg, c.dataDir)
	if err != nil {
		return err
	}
	defer db.Close()
	for _, t := range statsTables {
		n, err := st.Count(ctx, t)
		if err != nil {
			return err
		}
		fmt.Printf("%s\t%d\n", t, n)
	}
	return nil
}
