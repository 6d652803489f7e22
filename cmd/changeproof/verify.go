package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"

	"github.com/spf13/cobra"
)

// errChainBroken makes verify exit non-zero once its report is printed.
var errChainBroken = errors.New("raw log chain broken")

// newVerifyCmd is `changeproof verify`: recompute the raw log's hash chains
// (every source: GitHub deliveries, deploys, access events, REST
// responses) and report every broken link; it exits non-zero when there is
// one. The same verification runs here on the data dir or in the server.
func newVerifyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Recompute the raw log's hash chains and report every broken link",
		Long: `Recompute the hash chains of the raw log (every source: GitHub webhook
deliveries, GitHub REST responses, deploys, access events) and report every
broken link: a row changed, removed or inserted after it was logged. Exits 1
when a link is broken. With --server it runs in the running server (admin
token), so the server need not stop; the JSON report is the same.`,
		Example: `  changeproof verify --data-dir /var/lib/changeproof
  changeproof verify --from 2026-01-01 --to 2026-06-30 --format json
  changeproof verify --server https://changeproof.acme.io --token $ADMIN_TOKEN`,
		Args: cobra.NoArgs,
	}
	fs := cmd.Flags()
	var s source
	s.register(fs)
	var p period
	p.register(fs)
	format := fs.String("format", "text", "text|json")
	cmd.RunE = run(func(*cobra.Command, []string) error {
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
		return s.withMaintenance(func(ctx context.Context, m maintenance) error {
			rep, err := m.Verify(ctx, from, to)
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
		})
	})
	return cmd
}
