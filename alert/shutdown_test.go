package alert_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/changeproof/changeproof/alert/outbox"
	"github.com/changeproof/changeproof/alert/slack/slacktest"
	"github.com/changeproof/changeproof/model"
)

// A Flush called at shutdown while Run's round is stuck on a Slack that
// does not answer gives up when its context ends, instead of waiting for
// the stuck round; the alert stays queued.
func TestFlushHonoursContextWhileAnotherRoundRetries(t *testing.T) {
	f := newFixture(t)
	f.sender.RequestTimeout = time.Minute
	f.slack.Script(slacktest.Answer{Hang: true})
	f.feed(t, f.sender, prFinding("CM-2", 1, model.Fail, "no approval"))
	runCtx, stopRun := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- f.sender.Flush(runCtx) }()
	for deadline := time.Now().Add(10 * time.Second); len(f.slack.Requests()) == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the first round never reached Slack")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := f.sender.Flush(ctx)
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("Flush with a 200ms context took %v", took)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Flush: %v, want the context's deadline", err)
	}
	stopRun()
	<-ran
	if st := states(t, f.store); len(st) != 1 {
		t.Fatalf("outbox %v", st)
	} else {
		for id, s := range st {
			if s != outbox.Queued {
				t.Errorf("alert %s is %v after the stopped rounds, want queued", id, s)
			}
		}
	}
}
