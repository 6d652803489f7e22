package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"sort"
	"time"

	"github.com/changeproof/changeproof/store"
)

// verifyReport is `verify --format json`: every source's links, the
// conflicts kept, and the first broken link (all of them under "broken").
type verifyReport struct {
	OK          bool               `json:"ok"`
	Links       uint64             `json:"links"`
	Chains      int                `json:"chains"`
	BySource    map[string]uint64  `json:"by_source"`
	Conflicts   uint64             `json:"conflicts"`
	Head        string             `json:"head"`
	FirstBroken *store.BrokenLink  `json:"first_broken"`
	BrokenCount int                `json:"broken_count"`
	Broken      []store.BrokenLink `json:"broken"`
}

// errChainBroken makes verify exit non-zero once its report is printed.
var errChainBroken = errors.New("raw log chain broken")

// runVerify recomputes the raw log's hash chains (every source: GitHub
// deliveries, deploys, access events, REST responses) and reports every
// broken link; it exits non-zero when there is one.
func runVerify(args []string) error {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	var c common
	c.register(fs)
	var p period
	p.register(fs)
	format := fs.String("format", "text", "text|json")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *format == "table" {
		*format = "text"
	}
	if err := checkFormat(*format, "text", "json"); err != nil {
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
	rep, err := verifyReportOf(ctx, st, from, to)
	if err != nil {
		return err
	}
	if *format == "json" {
		if err := renderJSON(os.Stdout, rep); err != nil {
			return err
		}
		if !rep.OK {
			return fmt.Errorf("%w: %d broken link(s), the first at link %d of chain %q", errChainBroken, rep.BrokenCount, rep.FirstBroken.Seq, rep.FirstBroken.Chain)
		}
		return nil
	}
	if rep.Chains == 0 && rep.OK {
		fmt.Println("no events were received in that period: nothing to verify")
		return nil
	}
	sources := make([]string, 0, len(rep.BySource))
	for s := range rep.BySource {
		sources = append(sources, s)
	}
	sort.Strings(sources)
	for _, s := range sources {
		fmt.Printf("%-12s %d links\n", s, rep.BySource[s])
	}
	if rep.Conflicts > 0 {
		fmt.Printf("%d conflicting event(s) refused and kept (changeproof conflicts)\n", rep.Conflicts)
	}
	if rep.OK {
		fmt.Printf("raw log intact: %d links in %d chain(s) verified; head %s\n", rep.Links, rep.Chains, rep.Head)
		return nil
	}
	for _, b := range rep.Broken {
		fmt.Printf("BROKEN chain %q link %d (%s %s): %s\n", b.Chain, b.Seq, b.Source, b.DeliveryID, b.Problem)
	}
	if rep.BrokenCount > len(rep.Broken) {
		fmt.Printf("... and %d more\n", rep.BrokenCount-len(rep.Broken))
	}
	return fmt.Errorf("%w: %d broken link(s), the first at link %d of chain %q (%d links verified)",
		errChainBroken, rep.BrokenCount, rep.FirstBroken.Seq, rep.FirstBroken.Chain, rep.Links)
}

// verifyReportOf verifies the raw log's chains over [from, to] and counts
// the conflicts kept.
func verifyReportOf(ctx context.Context, st *store.Store, from, to time.Time) (verifyReport, error) {
	res, err := st.Verify(ctx, from, to)
	if err != nil {
		return verifyReport{}, err
	}
	conflicts, err := st.Count(ctx, "conflicts")
	if err != nil {
		return verifyReport{}, err
	}
	return verifyReport{OK: res.OK(), Links: res.Links, Chains: res.Chains, BySource: res.BySource, Conflicts: conflicts,
		Head: res.Head, FirstBroken: res.First(), BrokenCount: res.BrokenCount, Broken: res.Broken}, nil
}
