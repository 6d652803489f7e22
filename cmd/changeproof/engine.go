package main

import (
	"context"
	"fmt"
	"os"

	"github.com/changeproof/changeproof/rules"
	"github.com/changeproof/changeproof/store/chdb"
	"github.com/spf13/cobra"
)

func newEngineCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "engine",
		Short: "Check that the embedded ClickHouse engine (libchdb.so) loads",
		Long: `Load the embedded ClickHouse engine (libchdb.so, found in
~/.cache/changeproof/chdb or CHANGEPROOF_CHDB_LIB), open a scratch database
and ask its version: what ` + "`make setup`" + ` runs to prove the embedded mode works.`,
		Example: "  changeproof engine",
		Args:    cobra.NoArgs,
		RunE:    run(func(*cobra.Command, []string) error { return runEngineCheck() }),
	}
}

// runEngineCheck proves libchdb.so loads and answers, for `make setup`.
func runEngineCheck() error {
	lib, err := chdb.FindLibrary()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "changeproof-engine-check-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	db, err := chdb.Open(chdb.Options{Library: lib, DataDir: dir, Database: "check", Conns: 1})
	if err != nil {
		return err
	}
	defer db.Close()
	var v []struct {
		Version string `json:"v"`
	}
	if err := db.Query(context.Background(), "SELECT version() AS v", nil, &v); err != nil || len(v) != 1 {
		return fmt.Errorf("engine loaded from %s but did not answer: %v", lib, err)
	}
	fmt.Printf("embedded ClickHouse engine %s loaded from %s\n", v[0].Version, lib)
	return nil
}

func newControlsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "controls",
		Short: "List the built-in controls (the control catalogue)",
		Long: `List the built-in controls: id, name and the question each answers. With
--format markdown, the full catalogue (outcomes, evidence, remediation)
as the README holds it.`,
		Example: "  changeproof controls\n  changeproof controls --format markdown > controls.md",
		Args:    cobra.NoArgs,
	}
	format := cmd.Flags().String("format", "table", "table|markdown")
	cmd.RunE = run(func(*cobra.Command, []string) error { return runControls(*format) })
	return cmd
}

func runControls(format string) error {
	switch format {
	case "markdown":
		fmt.Print(rules.CatalogMarkdown())
	case "table":
		for _, d := range rules.Catalogue() {
			fmt.Printf("%-5s %-28s %s\n", d.ID, d.Name, d.Question)
		}
	default:
		return fmt.Errorf("--format: want table|markdown, got %q", format)
	}
	return nil
}
