package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/changeproof/changeproof/internal/buildinfo"
)

// Exit codes: 0 success (help included), 1 the command failed, 2 the
// command line was wrong (unknown command or flag, bad flag value, missing
// subcommand), as flag parsers and most Unix tools do.
const (
	exitFailed = 1
	exitUsage  = 2
)

// usageError is a wrong command line: exit 2 with the usage hint.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// newRoot builds the command tree. Each command's builder lives in the
// file of its run function.
func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "changeproof",
		Short: "Evidence that every production change was approved and reviewed",
		Long: `changeproof proves change management and production access for SOC 2.
It receives GitHub webhooks, deploy and access events into a durable,
hash-chained log, stores them in ClickHouse (embedded or a server),
judges every change with the built-in controls, alerts on Slack, and
answers auditors with findings, populations, samples and period reports.

Query and maintenance commands read the local --data-dir (default ./data),
or a running server with --server URL and --token T (or
CHANGEPROOF_TOKEN), so nothing needs downtime.`,
		Example: `  changeproof demo
  changeproof serve --config changeproof.yaml --data-dir /var/lib/changeproof
  changeproof findings --outcome fail --format csv --server https://changeproof.acme.io --token $TOKEN`,
		Version:       buildinfo.Get().String(),
		SilenceErrors: true,
		SilenceUsage:  true,
		// Without a subcommand: the help, on stderr, as a usage error.
		RunE: func(cmd *cobra.Command, args []string) error {
			cmd.SetOut(cmd.ErrOrStderr())
			_ = cmd.Help()
			return usageError{errors.New("missing command")}
		},
	}
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.CompletionOptions.HiddenDefaultCmd = false
	root.AddGroup(
		&cobra.Group{ID: "run", Title: "Running changeproof:"},
		&cobra.Group{ID: "query", Title: "Evidence for auditors:"},
		&cobra.Group{ID: "ops", Title: "Operations and maintenance:"},
	)
	for _, c := range []struct {
		group string
		cmd   *cobra.Command
	}{
		{"run", newServeCmd()}, {"run", newDemoCmd()}, {"run", newIngestCmd()}, {"run", newBackfillCmd()},
		{"query", newFindingsCmd()}, {"query", newChangesCmd()}, {"query", newEvidenceCmd()}, {"query", newControlsCmd()},
		{"query", newSampleCmd()}, {"query", newReportCmd()}, {"query", newVerifyExportCmd()},
		{"ops", newVerifyCmd()}, {"ops", newStatsCmd()}, {"ops", newDeadlettersCmd()}, {"ops", newConflictsCmd()},
		{"ops", newAlertsCmd()}, {"ops", newEngineCmd()}, {"ops", newBenchCmd()}, {"ops", newVersionCmd()},
	} {
		c.cmd.GroupID = c.group
		root.AddCommand(c.cmd)
	}
	root.SetHelpCommandGroupID("ops")
	root.SetCompletionCommandGroupID("ops")
	decorateDefaults(root)
	return root
}

// decorateDefaults gives cobra's help and completion commands examples,
// and makes an unknown help topic a usage error like an unknown command.
func decorateDefaults(root *cobra.Command) {
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		switch c.Name() {
		case "help":
			c.Example = "  changeproof help\n  changeproof help backfill github"
			c.Run = nil
			c.RunE = func(c *cobra.Command, args []string) error {
				cmd, _, err := c.Root().Find(args)
				if cmd == nil || err != nil {
					return usagef("unknown help topic %q", strings.Join(args, " "))
				}
				return cmd.Help()
			}
		case "completion":
			c.Example = "  source <(changeproof completion bash)\n  changeproof completion zsh > \"${fpath[1]}/_changeproof\""
			for _, sh := range c.Commands() {
				switch sh.Name() {
				case "bash":
					sh.Example = "  source <(changeproof completion bash)\n  changeproof completion bash > /etc/bash_completion.d/changeproof"
				case "zsh":
					sh.Example = "  changeproof completion zsh > \"${fpath[1]}/_changeproof\""
				case "fish":
					sh.Example = "  changeproof completion fish > ~/.config/fish/completions/changeproof.fish"
				case "powershell":
					sh.Example = "  changeproof completion powershell | Out-String | Invoke-Expression"
				}
			}
		}
	}
}

// execute runs the command line args and returns the process's exit code;
// errors go to stderr as one line, a usage error with the hint to --help.
func execute(args []string, stdout, stderr io.Writer) int {
	root := newRoot()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteC()
	if err == nil {
		return 0
	}
	if cmd == nil {
		cmd = root
	}
	var ue usageError
	// Cobra's own refusals (an unknown command, a wrong number of
	// arguments) come before any command ran: usage errors too.
	if errors.As(err, &ue) || !ran {
		fmt.Fprintf(stderr, "changeproof: %s\nRun '%s --help' for usage.\n", oneLine(err.Error()), cmd.CommandPath())
		return exitUsage
	}
	fmt.Fprintf(stderr, "%s: %v\n", cmd.CommandPath(), err)
	return exitFailed
}

// ran is set once a command's own code starts: an error before that is
// the command line's.
var ran bool

// run wraps a command's body, marking that it ran.
func run(f func(cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		ran = true
		return f(cmd, args)
	}
}

// oneLine folds cobra's multi-line refusals ("unknown command ...\n\nDid
// you mean this?\n\tverify") into one line.
func oneLine(s string) string {
	first, rest, _ := strings.Cut(strings.TrimSpace(s), "\n")
	var sugg []string
	for _, l := range strings.Split(rest, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasSuffix(l, "?") {
			sugg = append(sugg, l)
		}
	}
	if len(sugg) > 0 {
		return first + " (did you mean " + strings.Join(sugg, " or ") + "?)"
	}
	return first
}

// needSubcommand is the RunE of a command that only groups others: a
// missing or unknown subcommand is a usage error naming the choices.
func needSubcommand(usage string) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) > 0 {
			return usagef("%s: unknown subcommand %q; usage: %s", cmd.Name(), args[0], usage)
		}
		return usagef("usage: %s", usage)
	}
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print this build's version (module version or VCS revision)",
		Long: `Print this build's version: the module version of a released build, else
the VCS revision it was built from (with "+dirty" for uncommitted changes).
The same version is written into every export manifest and reported by the
changeproof_build_info metric.`,
		Example: "  changeproof version\n  changeproof --version",
		Args:    cobra.NoArgs,
		RunE: run(func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(cmd.OutOrStdout(), buildinfo.Get())
			return err
		}),
	}
}
