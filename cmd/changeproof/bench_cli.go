package main

import (
	"slices"
	"sort"

	"github.com/spf13/cobra"
)

// newBenchCmd puts the registered `bench` sub-benchmarks on the command
// tree. Each parses its own flags (its usage line is its help), so they
// stay as their files define them.
func newBenchCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench SUBCOMMAND",
		Short: "Generate an organisation at scale; measure against raw engine limits",
		Long: `Benchmarks of changeproof at scale. Every figure is printed next to a raw
limit measured in the same run, as a ratio: the machine may be shared, so
absolute times alone say little.`,
		Example: `  changeproof bench generate --changes 1000000 --reviews 1500000 --deploys 200000 --access 10000000 --data-dir /tmp/bench
  changeproof bench rules --data-dir /tmp/bench`,
		RunE: needSubcommand("changeproof bench SUBCOMMAND [flags] (see changeproof bench --help)"),
	}
	names := make([]string, 0, len(benchCommands))
	for n := range benchCommands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		b := benchCommands[n]
		cmd.AddCommand(&cobra.Command{
			Use:                n,
			Short:              "The " + n + " benchmark (flags: see its help)",
			Long:               "changeproof bench " + n + " " + b.usage,
			Example:            "  changeproof bench " + n + " --help",
			DisableFlagParsing: true,
			RunE: run(func(c *cobra.Command, args []string) error {
				if slices.Contains(args, "-h") || slices.Contains(args, "--help") {
					return c.Help()
				}
				return b.run(args)
			}),
		})
	}
	return cmd
}
