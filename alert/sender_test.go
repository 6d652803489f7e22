package alert_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/changeproof/changeproof/alert"
	"github.com/changeproof/changeproof/alert/outbox"
	"github.com/changeproof/changeproof/alert/slack"
	"github.com/changeproof/changeproof/alert/slack/slacktest"
	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/store"
	"github.com/changeproof/changeproof/store/storetest"
)

// fixture is a real store, a fake Slack behind an incoming webhook, and a
// sender on a fake clock.
type fixture struct {
	store  *store.Store
	slack  *slacktest.Server
	clock  *clock
	sender *alert.Sender
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{store: storetest.Open(t), slack: slacktest.New(), clock: newClock()}
	t.Cleanup(f.slack.Close)
	f.sender = newSender(t, f.store, f.webhook(), f.clock)
	return f
}

// webhook is the real transport, pointed at the fake through base_url.
func (f *fixture) webhook() alert.Transport {
	return &slack.Webhook{URL: "https://hooks.slack.com" + slacktest.WebhookPath, BaseURL: f.slack.URL}
}

// feed records the findings (as the evaluator would) and hands them to the
// sender as the rules.Runner hook does.
func (f *fixture) feed(t *testing.T, s *alert.Sender, fs ...model.Finding) {
	t.Helper()
	if err := f.store.AppendFindings(context.Background(), fs); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Enqueue(context.Background(), fs); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) flush(t *testing.T, s *alert.Sender) {
	t.Helper()
	if err := s.Flush(context.Background()); err != nil {
		t.Fatalf("Flush: %v", err)
	}
}

// subjects lists the subject of each delivered message (the fallback
// text's first line, after the title).
func subjectsOf(texts []string) []string {
	var out []string
	for _, t := range texts {
		line, _, _ := strings.Cut(t, "\n")
		_, rest, _ := strings.Cut(line, " failed: ")
		if rest == "" {
			_, rest, _ = strings.Cut(line, "): ")
		}
		subject, _, _ := strings.Cut(rest, " (")
		out = append(out, subject)
	}
	return out
}

func TestOneMessagePerFailingSubjectAndNoneAgain(t *testing.T) {
	f := newFixture(t)
	sentBefore := metric(t, "changeproof_alerts_sent_total")
	findings := []model.Finding{
		prFinding("CM-2", 7, model.Fail, "approved only by the author (octocat)"),
		prFinding("CM-3", 8, model.Fail, "approval by hubot was for "+sha1+", final commit is "+sha2),
		prFinding("CM-1", 7, model.Pass, "merged via pull request #7 by octocat"),
		prFinding("CM-2", 9, model.Pass, "approved by hubot"),
		prFinding("CM-4", 9, model.Fail, "no ticket key"),
		accessFinding("AC-2", "e1", model.Pass, "break-glass access by alice (as alice-admin) as root with ticket OPS-1"),
	}
	f.feed(t, f.sender, findings...)
	f.flush(t, f.sender)
	want := []string{"bastion:e1", "acme/pay#7", "acme/pay#8"} // created together: id order
	if got := subjectsOf(f.slack.Texts()); !reflect.DeepEqual(got, want) {
		t.Fatalf("delivered %v, want %v", got, want)
	}
	if d := metric(t, "changeproof_alerts_sent_total") - sentBefore; d != 3 {
		t.Errorf("sent_total grew by %v, want 3", d)
	}
	if q := metric(t, "changeproof_alerts_queued"); q != 0 {
		t.Errorf("queued gauge = %v after delivering everything", q)
	}

	// The same findings again (a re-sent event, a re-evaluation), and a
	// reason change on a finding that still fails: no new message.
	again := append(findings, prFinding("CM-2", 7, model.Fail, "approved only by the author (octocat), again"))
	f.feed(t, f.sender, again...)
	f.flush(t, f.sender)

	// Restart: a new sender (new owner) on the same outbox.
	restarted := newSender(t, f.store, f.webhook(), f.clock)
	restarted.Owner = "restarted"
	f.feed(t, restarted, again...)
	f.flush(t, restarted)
	if got := subjectsOf(f.slack.Texts()); !reflect.DeepEqual(got, want) {
		t.Errorf("after re-feeding and a restart: delivered %v, want %v", got, want)
	}
	if n := len(f.slack.Requests()); n != 3 {
		t.Errorf("%d requests to Slack, want 3", n)
	}
	for id, st := range states(t, f.store) {
		if st != outbox.Sent {
			t.Errorf("%s is %s, want sent", id, st)
		}
	}
}

func TestDeliveredMessageIsTheRenderedOne(t *testing.T) {
	f := newFixture(t)
	fd := pushFinding(sha1, model.Fail)
	f.sender.Grace = 0
	f.feed(t, f.sender, fd)
	f.flush(t, f.sender)
	got := f.slack.Delivered()
	if len(got) != 1 {
		t.Fatalf("%d messages", len(got))
	}
	as := alert.Decide([]model.Finding{fd}, t0, 0)
	want := alert.Renderer{Names: names, APIBase: api}.Message(as[0])
	if !reflect.DeepEqual(got[0].Message, want) {
		t.Errorf("delivered %+v\nwant %+v", got[0].Message, want)
	}
	if got[0].Path != slacktest.WebhookPath || got[0].ContentType != "application/json; charset=utf-8" {
		t.Errorf("request path %q content type %q", got[0].Path, got[0].ContentType)
	}
	for _, s := range []string{"CM-1", "change-via-pull-request", "acme/pay@" + sha1, "https://github.com/acme/pay/commit/" + sha1,
		"pushed by mallory", "direct push of " + sha1 + " by mallory", api + "/v1/changes/acme/pay/commit/" + sha1} {
		if !strings.Contains(got[0].Message.Text, s) {
			t.Errorf("fallback text lacks %q:\n%s", s, got[0].Message.Text)
		}
	}
}

func TestGraceCancelsWithdrawnDirectPush(t *testing.T) {
	f := newFixture(t)
	cancelledBefore := metric(t, "changeproof_alerts_cancelled_total")
	f.feed(t, f.sender, pushFinding(sha1, model.Fail), pushFinding(sha2, model.Fail))
	f.flush(t, f.sender)
	if n := len(f.slack.Requests()); n != 0 {
		t.Fatalf("%d messages inside the grace period", n)
	}
	if q := metric(t, "changeproof_alerts_queued"); q != 2 {
		t.Errorf("queued gauge = %v, want 2", q)
	}

	// The late pull_request event: sha1 was the merge of #7.
	f.clock.Advance(time.Minute)
	withdrawn := pushFinding(sha1, model.NotApplicable)
	withdrawn.Reason, withdrawn.EvaluatedAt, withdrawn.Evidence.MergeOf = "merge of acme/pay#7", t0.Add(time.Minute), "acme/pay#7"
	f.feed(t, f.sender, withdrawn)
	f.flush(t, f.sender)
	if n := len(f.slack.Requests()); n != 0 {
		t.Fatalf("%d messages inside the grace period", n)
	}

	f.clock.Advance(time.Minute)
	f.flush(t, f.sender)
	if got := subjectsOf(f.slack.Texts()); !reflect.DeepEqual(got, []string{"acme/pay@" + sha2}) {
		t.Errorf("after the grace period delivered %v, want only the push that is still a direct push", got)
	}
	st := states(t, f.store)
	if st["CM-1|acme/pay@"+sha1+"|fail"] != outbox.Cancelled || st["CM-1|acme/pay@"+sha2+"|fail"] != outbox.Sent {
		t.Errorf("states = %v", st)
	}
	if d := metric(t, "changeproof_alerts_cancelled_total") - cancelledBefore; d != 1 {
		t.Errorf("cancelled_total grew by %v, want 1", d)
	}
	as, err := f.store.Alerts(context.Background(), []string{"CM-1|acme/pay@" + sha1 + "|fail"})
	if err != nil || len(as) != 1 || as[0].LastError != "finding is now not_applicable: merge of acme/pay#7" {
		t.Errorf("cancelled alert = %+v (%v)", as, err)
	}
}

// timed records when (on the fake clock) each request was made.
type timed struct {
	alert.Transport
	clock *clock
	mu    sync.Mutex
	at    []time.Time
}

func (t *timed) Post(ctx context.Context, m slack.Message) error {
	t.mu.Lock()
	t.at = append(t.at, t.clock.Now())
	t.mu.Unlock()
	return t.Transport.Post(ctx, m)
}

func TestRetryAfterHonouredSameAlertFirst(t *testing.T) {
	f := newFixture(t)
	tr := &timed{Transport: f.webhook(), clock: f.clock}
	f.sender.Transport = tr
	f.slack.Script(slacktest.Answer{Status: 429, RetryAfter: "7", Body: "rate_limited"})
	f.feed(t, f.sender, prFinding("CM-2", 1, model.Fail, "no approval"), prFinding("CM-2", 2, model.Fail, "no approval"))
	f.flush(t, f.sender)

	reqs := f.slack.Requests()
	var order []string
	for _, r := range reqs {
		order = append(order, subjectsOf([]string{r.Message.Text})[0])
	}
	if want := []string{"acme/pay#1", "acme/pay#1", "acme/pay#2"}; !reflect.DeepEqual(order, want) {
		t.Errorf("requests %v, want %v (the rate-limited alert retried first)", order, want)
	}
	if got := subjectsOf(f.slack.Texts()); !reflect.DeepEqual(got, []string{"acme/pay#1", "acme/pay#2"}) {
		t.Errorf("delivered %v", got)
	}
	if len(tr.at) != 3 || tr.at[1].Sub(tr.at[0]) < 7*time.Second {
		t.Errorf("retry came %v after the 429, want at least Retry-After 7s (requests at %v)", tr.at[1].Sub(tr.at[0]), tr.at)
	}
	if s := f.clock.Sleeps(); !reflect.DeepEqual(s, []time.Duration{7 * time.Second}) {
		t.Errorf("waits %v, want exactly [7s]", s)
	}
	as, err := f.store.Alerts(context.Background(), []string{"CM-2|acme/pay#1|fail"})
	if err != nil || len(as) != 1 || as[0].Attempts != 2 || as[0].State != outbox.Sent || !as[0].SentAt.Equal(t0.Add(7*time.Second)) {
		t.Errorf("outbox row = %+v (%v)", as, err)
	}
}

func TestServerErrorsBackOffThenDeliverOnce(t *testing.T) {
	f := newFixture(t)
	f.sender.BackoffBase, f.sender.BackoffMax = time.Second, 4*time.Second
	errsBefore := metric(t, "changeproof_alerts_send_errors_total")
	f.slack.Script(slacktest.Answer{Status: 500, Body: "rollup_error"}, slacktest.Answer{Status: 503}, slacktest.Answer{Status: 502},
		slacktest.Answer{Status: 500}, slacktest.Answer{Status: 500})
	f.feed(t, f.sender, prFinding("CM-2", 1, model.Fail, "no approval"))
	f.flush(t, f.sender)
	if got := subjectsOf(f.slack.Texts()); !reflect.DeepEqual(got, []string{"acme/pay#1"}) {
		t.Fatalf("delivered %v", got)
	}
	if n := len(f.slack.Requests()); n != 6 {
		t.Errorf("%d requests, want 6", n)
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second, 4 * time.Second}
	if s := f.clock.Sleeps(); !reflect.DeepEqual(s, want) {
		t.Errorf("backoff %v, want %v", s, want)
	}
	if d := metric(t, "changeproof_alerts_send_errors_total") - errsBefore; d != 5 {
		t.Errorf("send_errors_total grew by %v, want 5", d)
	}
	// Success resets the backoff.
	f.slack.Script(slacktest.Answer{Status: 500})
	f.feed(t, f.sender, prFinding("CM-2", 2, model.Fail, "no approval"))
	f.flush(t, f.sender)
	if s := f.clock.Sleeps(); s[len(s)-1] != time.Second {
		t.Errorf("backoff after a success starts at %v, want 1s", s[len(s)-1])
	}
}

func TestHangingRequestTimesOutAndIsRetried(t *testing.T) {
	f := newFixture(t)
	f.sender.RequestTimeout = 50 * time.Millisecond
	f.slack.Script(slacktest.Answer{Hang: true})
	f.feed(t, f.sender, prFinding("CM-2", 1, model.Fail, "no approval"))
	// Bounded, so that a sender without a request timeout fails the test
	// instead of hanging it.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := f.sender.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	if n, d := len(f.slack.Requests()), len(f.slack.Delivered()); n != 2 || d != 1 {
		t.Errorf("%d requests, %d delivered; want 2 and 1", n, d)
	}
	if s := f.clock.Sleeps(); !reflect.DeepEqual(s, []time.Duration{time.Second}) {
		t.Errorf("waits %v, want one backoff of 1s", s)
	}
}

func TestOutageThenRecoveryDeliversEverythingInOrderOnce(t *testing.T) {
	f := newFixture(t)
	const down = 8
	for i := 0; i < down; i++ {
		f.slack.Script(slacktest.Answer{Status: 503})
	}
	f.feed(t, f.sender, prFinding("CM-2", 1, model.Fail, "no approval"), prFinding("CM-2", 2, model.Fail, "no approval"))
	// While Slack is down, evaluation goes on and queues more alerts.
	n := 2
	f.clock.onSleep = func(time.Duration) {
		if n < 6 {
			n++
			f.feed(t, f.sender, prFinding("CM-2", n, model.Fail, "no approval"))
		}
	}
	f.flush(t, f.sender)
	f.clock.onSleep = nil
	f.flush(t, f.sender)

	want := []string{"acme/pay#1", "acme/pay#2", "acme/pay#3", "acme/pay#4", "acme/pay#5", "acme/pay#6"}
	if got := subjectsOf(f.slack.Texts()); !reflect.DeepEqual(got, want) {
		t.Errorf("delivered %v, want %v", got, want)
	}
	if r := len(f.slack.Requests()); r != down+len(want) {
		t.Errorf("%d requests, want %d", r, down+len(want))
	}
	for id, st := range states(t, f.store) {
		if st != outbox.Sent {
			t.Errorf("%s is %s", id, st)
		}
	}
}

func TestDigestSendsOneMessagePerPeriod(t *testing.T) {
	f := newFixture(t)
	f.sender.Digest = time.Hour
	var first []model.Finding
	for i := 1; i <= 500; i++ {
		first = append(first, prFinding("CM-2", i, model.Fail, "no approval"))
	}
	f.feed(t, f.sender, first...)
	f.flush(t, f.sender)
	texts := f.slack.Texts()
	if len(texts) != 1 {
		t.Fatalf("%d messages for a first import, want one digest", len(texts))
	}
	if !strings.HasPrefix(texts[0], "changeproof digest: 500 alerts\n") || !strings.Contains(texts[0], "\n…and 480 more.\n") {
		t.Errorf("digest:\n%s", texts[0])
	}
	st := states(t, f.store)
	if len(st) != 500 {
		t.Errorf("%d alerts in the outbox", len(st))
	}
	for id, s := range st {
		if s != outbox.Sent {
			t.Fatalf("%s is %s after the digest", id, s)
		}
	}

	// Within the period: held.
	f.clock.Advance(10 * time.Minute)
	f.feed(t, f.sender, prFinding("CM-3", 1, model.Fail, "stale approval"), prFinding("CM-3", 2, model.Fail, "stale approval"))
	f.flush(t, f.sender)
	if n := len(f.slack.Texts()); n != 1 {
		t.Fatalf("%d messages within the digest period", n)
	}
	// A restart does not reset the period.
	restarted := newSender(t, f.store, f.webhook(), f.clock)
	restarted.Digest, restarted.Owner = time.Hour, "restarted"
	f.flush(t, restarted)
	if n := len(f.slack.Texts()); n != 1 {
		t.Fatalf("%d messages within the digest period after a restart", n)
	}

	f.clock.Advance(51 * time.Minute)
	f.flush(t, restarted)
	texts = f.slack.Texts()
	if len(texts) != 2 || !strings.HasPrefix(texts[1], "changeproof digest: 2 alerts\n• CM-3 approval-covers-final-code failed: acme/pay#1") ||
		strings.Contains(texts[1], "more.") {
		t.Errorf("second digest:\n%s", texts[len(texts)-1])
	}

	// A lone alert in a period gets its full message.
	f.clock.Advance(time.Hour)
	f.feed(t, restarted, accessFinding("AC-2", "e1", model.Fail, "break-glass access by alice as root without a ticket"))
	f.flush(t, restarted)
	texts = f.slack.Texts()
	if len(texts) != 3 || !strings.HasPrefix(texts[2], "AC-2 break-glass-justified: break-glass access (fail): bastion:e1\n") {
		t.Errorf("lone alert:\n%s", texts[len(texts)-1])
	}
}

func TestPostMessageOKFalse(t *testing.T) {
	f := newFixture(t)
	f.slack.Token = "xoxb-good"
	tr := &slack.PostMessage{Token: "xoxb-good", Channel: "C0ALERTS", BaseURL: f.slack.URL}
	f.sender.Transport = tr
	failedBefore := metric(t, "changeproof_alerts_failed_total")
	f.slack.Script(
		slacktest.Answer{Body: `{"ok":false,"error":"ratelimited"}`, RetryAfter: "3"}, // #1: retried after 3s
		slacktest.Answer{},                     // #1 delivered
		slacktest.OKFalse("channel_not_found"), // #2: permanent
	)
	f.feed(t, f.sender, prFinding("CM-2", 1, model.Fail, "no approval"), prFinding("CM-2", 2, model.Fail, "no approval"),
		prFinding("CM-2", 3, model.Fail, "no approval"))
	f.flush(t, f.sender)

	if got := subjectsOf(f.slack.Texts()); !reflect.DeepEqual(got, []string{"acme/pay#1", "acme/pay#3"}) {
		t.Errorf("delivered %v", got)
	}
	reqs := f.slack.Requests()
	if len(reqs) != 4 {
		t.Fatalf("%d requests, want 4 (#2 not retried)", len(reqs))
	}
	for _, r := range reqs {
		if r.Path != "/api/chat.postMessage" || r.Authorization != "Bearer xoxb-good" || r.Channel != "C0ALERTS" {
			t.Errorf("request %s auth %q channel %q", r.Path, r.Authorization, r.Channel)
		}
	}
	if s := f.clock.Sleeps(); !reflect.DeepEqual(s, []time.Duration{3 * time.Second}) {
		t.Errorf("waits %v, want [3s]", s)
	}
	as, err := f.store.Alerts(context.Background(), []string{"CM-2|acme/pay#2|fail"})
	if err != nil || len(as) != 1 || as[0].State != outbox.Failed || as[0].Attempts != 1 ||
		as[0].LastError != "slack chat.postMessage: channel_not_found" {
		t.Errorf("refused alert = %+v (%v)", as, err)
	}
	if d := metric(t, "changeproof_alerts_failed_total") - failedBefore; d != 1 {
		t.Errorf("failed_total grew by %v, want 1", d)
	}
	// Not retried by later rounds.
	f.flush(t, f.sender)
	if n := len(f.slack.Requests()); n != 4 {
		t.Errorf("%d requests after another round", n)
	}

	// A bad token fails for good too, and requeueing after the fix sends it.
	bad := newSender(t, f.store, &slack.PostMessage{Token: "xoxb-revoked", Channel: "C0ALERTS", BaseURL: f.slack.URL}, f.clock)
	f.feed(t, bad, prFinding("CM-3", 4, model.Fail, "stale approval"))
	f.flush(t, bad)
	if st := states(t, f.store)["CM-3|acme/pay#4|fail"]; st != outbox.Failed {
		t.Errorf("invalid_auth: state %s", st)
	}
	if n, err := f.store.RequeueFailedAlerts(context.Background(), []string{"CM-3|acme/pay#4|fail"}, f.clock.Now()); err != nil || n != 1 {
		t.Fatalf("requeue: %d %v", n, err)
	}
	f.flush(t, f.sender)
	if got := subjectsOf(f.slack.Texts()); !reflect.DeepEqual(got, []string{"acme/pay#1", "acme/pay#3", "acme/pay#4"}) {
		t.Errorf("after requeue delivered %v", got)
	}
}

func TestLeaseOfACrashedSenderExpiresThenDelivers(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.feed(t, f.sender, prFinding("CM-2", 1, model.Fail, "no approval"), prFinding("CM-2", 2, model.Fail, "no approval"))
	// A sender claimed the first alert and died before posting.
	due, err := f.store.DueAlerts(ctx, t0, 10)
	if err != nil || len(due) != 2 {
		t.Fatalf("due = %v (%v)", due, err)
	}
	due[0].ClaimedBy, due[0].ClaimedUntil = "crashed", t0.Add(2*time.Minute)
	if err := f.store.UpdateAlerts(ctx, due[:1], t0); err != nil {
		t.Fatal(err)
	}
	f.flush(t, f.sender)
	if n := len(f.slack.Requests()); n != 0 {
		t.Fatalf("sent %d alerts while an earlier one is leased to another sender", n)
	}
	f.clock.Advance(2*time.Minute + time.Second)
	f.flush(t, f.sender)
	if got := subjectsOf(f.slack.Texts()); !reflect.DeepEqual(got, []string{"acme/pay#1", "acme/pay#2"}) {
		t.Errorf("after the lease expired delivered %v", got)
	}
}

// flaky fails the outbox operations it is told to.
type flaky struct {
	*store.Store
	mu         sync.Mutex
	failEnq    int // EnqueueAlerts calls to fail
	failSentUp int // UpdateAlerts calls writing a sent row to fail
}

var errOutbox = errors.New("outbox unavailable")

func (o *flaky) EnqueueAlerts(ctx context.Context, as []outbox.Alert) (int, error) {
	o.mu.Lock()
	fail := o.failEnq > 0
	if fail {
		o.failEnq--
	}
	o.mu.Unlock()
	if fail {
		return 0, errOutbox
	}
	return o.Store.EnqueueAlerts(ctx, as)
}

func (o *flaky) UpdateAlerts(ctx context.Context, as []outbox.Alert, now time.Time) error {
	o.mu.Lock()
	fail := false
	for _, a := range as {
		if a.State == outbox.Sent && o.failSentUp > 0 {
			fail = true
		}
	}
	if fail {
		o.failSentUp--
	}
	o.mu.Unlock()
	if fail {
		return errOutbox
	}
	return o.Store.UpdateAlerts(ctx, as, now)
}

func TestOutboxFailuresLoseNothingAndSendNothingTwice(t *testing.T) {
	f := newFixture(t)
	ob := &flaky{Store: f.store, failEnq: 1, failSentUp: 3}
	s := newSender(t, ob, f.webhook(), f.clock)
	fd := prFinding("CM-2", 1, model.Fail, "no approval")
	if err := f.store.AppendFindings(context.Background(), []model.Finding{fd}); err != nil {
		t.Fatal(err)
	}
	s.OnFindings([]model.Finding{fd}) // the outbox refuses: held in memory
	if st := states(t, f.store); len(st) != 0 {
		t.Fatalf("outbox = %v", st)
	}
	// The round queues it and delivers it, but cannot record the delivery.
	if err := s.Flush(context.Background()); err == nil {
		t.Fatal("Flush hid an outbox failure")
	}
	if n := len(f.slack.Delivered()); n != 1 {
		t.Fatalf("%d delivered", n)
	}
	// Next round: recorded, not resent.
	f.flush(t, s)
	f.flush(t, s)
	if n := len(f.slack.Requests()); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
	if st := states(t, f.store)["CM-2|acme/pay#1|fail"]; st != outbox.Sent {
		t.Errorf("state %s, want sent", st)
	}
}

func TestTwoSendersShareOneOutbox(t *testing.T) {
	st := storetest.Open(t)
	fake := slacktest.New()
	t.Cleanup(fake.Close)
	var fs []model.Finding
	for i := 1; i <= 12; i++ {
		fs = append(fs, prFinding("CM-2", i, model.Fail, "no approval"))
	}
	ctx := context.Background()
	if _, err := st.EnqueueAlerts(ctx, alert.Decide(fs, time.Now().UTC(), 0)); err != nil {
		t.Fatal(err)
	}
	// Real clocks and sleeps: the claim protocol's wait is real here.
	mk := func(owner string) *alert.Sender {
		return &alert.Sender{Outbox: st, Transport: &slack.Webhook{URL: fake.WebhookURL()}, Batch: 3,
			Settle: 100 * time.Millisecond, Owner: owner, Renderer: alert.Renderer{Names: names}}
	}
	senders := []*alert.Sender{mk("A"), mk("B"), mk("C")}
	deadline := time.Now().Add(60 * time.Second)
	for len(fake.Delivered()) < len(fs) && time.Now().Before(deadline) {
		var wg sync.WaitGroup
		for _, s := range senders {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := s.Flush(ctx); err != nil {
					t.Errorf("Flush: %v", err)
				}
			}()
		}
		wg.Wait()
	}
	// Created together, so sent in id order, byte-wise: "CM-2|acme/pay#10|fail"
	// sorts before "CM-2|acme/pay#1|fail".
	want := []string{"acme/pay#10", "acme/pay#11", "acme/pay#12", "acme/pay#1", "acme/pay#2", "acme/pay#3",
		"acme/pay#4", "acme/pay#5", "acme/pay#6", "acme/pay#7", "acme/pay#8", "acme/pay#9"}
	if got := subjectsOf(fake.Texts()); !reflect.DeepEqual(got, want) {
		t.Errorf("delivered %v\nwant each once, in order: %v", got, want)
	}
	if n := len(fake.Requests()); n != len(want) {
		t.Errorf("%d requests, want %d", n, len(want))
	}
}

func TestRunDeliversWhenPoked(t *testing.T) {
	f := newFixture(t)
	f.sender.Interval = time.Hour // only the start and pokes wake it
	f.sender.Sleep, f.sender.Now = nil, nil
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.sender.Run(ctx) }()
	f.sender.OnFindings([]model.Finding{prFinding("CM-2", 1, model.Fail, "no approval")})
	deadline := time.Now().Add(30 * time.Second)
	for len(f.slack.Delivered()) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
	if n := len(f.slack.Delivered()); n != 1 {
		t.Errorf("%d delivered", n)
	}
}

func TestValidateNamesTheField(t *testing.T) {
	s := &alert.Sender{Grace: -time.Second, BackoffBase: time.Minute, BackoffMax: time.Second,
		Renderer: alert.Renderer{APIBase: "changeproof.acme.io"}}
	err := s.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"Outbox: required", "Transport: required", "Grace: must not be negative, got -1s",
		"BackoffMax: 1s is less than BackoffBase 1m0s", `Renderer.APIBase: must be an absolute http(s) URL, got "changeproof.acme.io"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if err := s.Run(context.Background()); err == nil {
		t.Error("Run accepted an invalid sender")
	}
	if err := (&alert.Sender{Outbox: storetest.Open(t), Transport: &slack.Webhook{URL: "https://hooks.slack.com/x"}}).Validate(); err != nil {
		t.Errorf("minimal sender: %v", err)
	}
}

func TestSendTest(t *testing.T) {
	fake := slacktest.New()
	defer fake.Close()
	w := &slack.Webhook{URL: fake.WebhookURL()}
	if err := alert.SendTest(context.Background(), w, "host-1", t0); err != nil {
		t.Fatal(err)
	}
	if got := fake.Delivered(); len(got) != 1 || !reflect.DeepEqual(got[0].Message, alert.TestMessage("host-1", t0)) {
		t.Errorf("delivered %+v", got)
	}
	fake.Script(slacktest.Answer{Status: 404, Body: "no_service"})
	err := alert.SendTest(context.Background(), w, "host-1", t0)
	if err == nil || err.Error() != "test message refused (check alerts.slack): slack webhook: HTTP 404: no_service" {
		t.Errorf("refused: %v", err)
	}
	fake.Script(slacktest.Answer{Status: 429, RetryAfter: "9"})
	err = alert.SendTest(context.Background(), w, "host-1", t0)
	if err == nil || !strings.HasPrefix(err.Error(), "test message not delivered (temporary; Slack asks to retry after 9s)") {
		t.Errorf("rate limited: %v", err)
	}
}
