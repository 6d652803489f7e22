package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/changeproof/changeproof/alert"
	"github.com/changeproof/changeproof/alert/slack"
	"github.com/spf13/cobra"
)

func newAlertsCmd() *cobra.Command {
	const usage = "changeproof alerts test|retry [flags]"
	cmd := &cobra.Command{
		Use:   "alerts test|retry",
		Short: "Check the Slack configuration; reopen alerts Slack refused",
		Long: `Work on Slack alerts: send a test message through the configured
transport, or put alerts Slack refused for good (a revoked webhook, an
archived channel) back in the send queue once the cause is fixed.`,
		Example: "  changeproof alerts test --config changeproof.yaml\n  changeproof alerts retry --server https://changeproof.acme.io --token $ADMIN_TOKEN",
		RunE:    needSubcommand(usage),
	}
	test := &cobra.Command{
		Use:   "test",
		Short: "Send a sample Slack message with the configured transport",
		Long: `Send one sample message through the configured Slack transport
(alerts.slack.webhook_url, or alerts.slack.token and alerts.slack.channel),
to check the configuration before an alert depends on it.`,
		Example: "  changeproof alerts test --config changeproof.yaml",
		Args:    cobra.NoArgs,
	}
	var c common
	c.register(test.Flags())
	test.RunE = run(func(*cobra.Command, []string) error { return runAlertsTest(c) })

	retry := &cobra.Command{
		Use:   "retry [ALERT-ID]...",
		Short: "Reopen failed alerts: send them again, once each",
		Long: `Put alerts Slack refused for good (state failed: a 4xx such as a revoked
webhook or an unknown channel) back in the send queue, after the cause was
fixed: the given alert ids, or every failed alert. Each is then sent once,
in its original place in the send order. With --server the running server
does it and sends them at once (admin token); on the data dir they go out
when serve next runs.`,
		Example: `  changeproof alerts retry --server https://changeproof.acme.io --token $ADMIN_TOKEN
  changeproof alerts retry 'CM-3|acme/payments-api#7|fail' --data-dir /var/lib/changeproof`,
	}
	var s source
	s.register(retry.Flags())
	retry.RunE = run(func(_ *cobra.Command, ids []string) error {
		return s.withMaintenance(func(ctx context.Context, m maintenance) error {
			n, err := m.RetryAlerts(ctx, ids)
			if err != nil {
				return err
			}
			fmt.Printf("%d failed alert(s) requeued\n", n)
			return nil
		})
	})
	cmd.AddCommand(test, retry)
	return cmd
}

// runAlertsTest is `changeproof alerts test`: one sample message through
// the configured Slack transport, to check the configuration.
func runAlertsTest(c common) error {
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
