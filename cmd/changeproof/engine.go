package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/changeproof/changeproof/rules"
	"github.com/changeproof/changeproof/store/chdb"
)

// runEngineCheck proves libchdb.so loads and answers, for `make setup`.
func runEngineCheck(args []string) error {
	fs := flag.NewFlagSet("engine", flag.ContinueOnError)
	if err := fs.Parse(args); err != nil {
		return err
	}
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

func runControls(args []string) error {
	fs := flag.NewFlagSet("controls", flag.ContinueOnError)
	format := fs.String("format", "table", "table|markdown")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch *format {
	case "markdown":
		fmt.Print(rules.CatalogMarkdown())
	case "table":
		for _, d := range rules.Catalogue() {
			fmt.Printf("%-5s %-28s %s\n", d.ID, d.Name, d.Question)
		}
	default:
		return fmt.Errorf("--format: want table|markdown, got %q", *format)
	}
	return nil
}
