package main

import (
	"context"
	"flag"
	"fmt"
	"os"
)

// runVerify recomputes the raw log's hash chain and reports the first
// broken link; it exits non-zero when there is one.
func runVerify(args []string) error {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	var c common
	c.register(fs)
	var p period
	p.register(fs)
	format := fs.String("format", "table", "table|json")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := checkFormat(*format, "table", "json"); err != nil {
		return err
	}
	from, to, err := p.parse()
	if err != nil {
		return err
	}
	ctx := context.Background()
	_, st, closeStore, err := c.openLocal(ctx)
	if err != nil {
		return err
	}
	defer closeStore()
	res, err := st.Verify(ctx, from, to)
	if err != nil {
		return err
	}
	if res.Chains == 0 && res.Broken == nil {
		fmt.Println("no deliveries were received in that period: nothing to verify")
		return nil
	}
	if *format == "json" {
		if err := renderJSON(os.Stdout, res); err != nil {
			return err
		}
	} else if res.Broken == nil {
		fmt.Printf("raw log intact: %d links in %d chain(s) verified; head %s\n", res.Links, res.Chains, res.Head)
	}
	if res.Broken != nil {
		return fmt.Errorf("raw log chain %q broken at link %d (delivery %s): %s (%d links before it verified)",
			res.Broken.Chain, res.Broken.Seq, res.Broken.DeliveryID, res.Broken.Problem, res.Links)
	}
	return nil
}
