package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// cliReference renders the command tree as the Markdown of docs/cli.md:
// every command, in tree order, with its description, usage, examples and
// flags. A test keeps docs/cli.md equal to it.
func cliReference(root *cobra.Command) string {
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	var b strings.Builder
	b.WriteString("# Command-line reference\n\n")
	b.WriteString("<!-- Generated from the command tree: UPDATE_DOCS=1 go test ./cmd/changeproof -run TestCLIReference -->\n\n")
	b.WriteString("Every command prints this help with `changeproof help COMMAND`, `COMMAND --help` or `-h`\n" +
		"(on stdout, exit 0). A wrong command line (unknown command or flag, bad flag value,\n" +
		"missing subcommand) exits 2 with one line and the usage hint on stderr; a command\n" +
		"that fails exits 1.\n\n")
	b.WriteString("## Commands\n\n")
	walk(root, func(c *cobra.Command) {
		fmt.Fprintf(&b, "%s- [`%s`](#%s) — %s\n", strings.Repeat("  ", depth(c)), c.CommandPath(), anchor(c), c.Short)
	})
	b.WriteString("\n")
	walk(root, func(c *cobra.Command) { writeCommand(&b, c) })
	return b.String()
}

// walk visits c and its visible subcommands, depth first, in name order.
func walk(c *cobra.Command, visit func(*cobra.Command)) {
	if c.Hidden {
		return
	}
	visit(c)
	for _, sub := range c.Commands() {
		if sub.IsAvailableCommand() || sub.Name() == "help" {
			walk(sub, visit)
		}
	}
}

func depth(c *cobra.Command) int {
	n := 0
	for p := c.Parent(); p != nil; p = p.Parent() {
		n++
	}
	return n
}

// anchor is the heading's anchor as GitHub renders it.
func anchor(c *cobra.Command) string {
	return strings.ReplaceAll(strings.ToLower(c.CommandPath()), " ", "-")
}

func writeCommand(b *strings.Builder, c *cobra.Command) {
	fmt.Fprintf(b, "## %s\n\n%s\n\n", c.CommandPath(), c.Short)
	if c.Long != "" {
		b.WriteString(strings.TrimSpace(c.Long) + "\n\n")
	}
	fmt.Fprintf(b, "```\n%s\n```\n\n", c.UseLine())
	if c.Example != "" {
		fmt.Fprintf(b, "Examples:\n\n```\n%s\n```\n\n", strings.TrimRight(c.Example, "\n"))
	}
	if fs := visibleFlags(c.NonInheritedFlags()); fs != "" {
		fmt.Fprintf(b, "Flags:\n\n```\n%s```\n\n", fs)
	}
	if c.HasAvailableSubCommands() {
		b.WriteString("Subcommands:")
		for _, sub := range c.Commands() {
			if sub.IsAvailableCommand() {
				fmt.Fprintf(b, " [`%s`](#%s)", sub.Name(), anchor(sub))
			}
		}
		b.WriteString("\n\n")
	}
}

// visibleFlags lists the flags but --help, which every command has.
func visibleFlags(fs *pflag.FlagSet) string {
	out := pflag.NewFlagSet("", pflag.ContinueOnError)
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Name != "help" && !f.Hidden {
			out.AddFlag(f)
		}
	})
	return out.FlagUsages()
}
