package alert

import (
	"context"
	"fmt"
	"time"

	"github.com/changeproof/changeproof/alert/slack"
)

// SendTest posts TestMessage(source, now) through t, once, within
// DefaultRequestTimeout, for `changeproof alerts test`. It does not touch
// the outbox. The error says whether retrying could help: a permanent
// refusal (bad token, unknown channel, wrong webhook) is a configuration
// problem.
func SendTest(ctx context.Context, t Transport, source string, now time.Time) error {
	ctx, cancel := context.WithTimeout(ctx, DefaultRequestTimeout)
	defer cancel()
	err := t.Post(ctx, TestMessage(source, now))
	if err == nil {
		return nil
	}
	if retry, after := slack.Retryable(err); retry {
		if after > 0 {
			return fmt.Errorf("test message not delivered (temporary; Slack asks to retry after %s): %w", after, err)
		}
		return fmt.Errorf("test message not delivered (temporary; try again): %w", err)
	}
	return fmt.Errorf("test message refused (check alerts.slack): %w", err)
}
