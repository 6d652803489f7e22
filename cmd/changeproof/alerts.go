package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/changeproof/changeproof/alert"
	"github.com/changeproof/changeproof/alert/slack"
)

// runAlerts is `changeproof alerts test`: one sample message through the
// configured Slack transport, to check the configuration.
func runAlerts(args []string) error {
	if len(args) == 0 || args[0] != "test" {
		return errors.New("usage: changeproof alerts test [--config FILE]")
	}
	fs := flag.NewFlagSet("alerts test", flag.ContinueOnError)
	var c common
	c.register(fs)
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	cfg, err := c.load()
	if err != nil {
		return err
	}
	sc := slack.Config{WebhookURL: cfg.Alerts.Slack.WebhookURL, Token: cfg.Alerts.Slack.Token,
		Channel: cfg.Alerts.Slack.Channel, BaseURL: cfg.Alerts.Slack.BaseURL}
	tr, err := slack.New(sc, nil)
	if errors.Is(err, slack.ErrNotConfigured) {
		return errors.New("no Slack configured: set alerts.slack.webhook_url, or alerts.slack.token and alerts.slack.channel")
	}
	if err != nil {
		return err
	}
	host, _ := os.Hostname()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := alert.SendTest(ctx, tr, host, time.Now()); err != nil {
		return fmt.Errorf("Slack refused the test message: %w", err)
	}
	fmt.Println("test message sent: check the channel")
	return nil
}
