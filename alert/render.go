package alert

import (
	"fmt"
	"strings"
	"time"

	"github.com/changeproof/changeproof/alert/outbox"
	"github.com/changeproof/changeproof/alert/slack"
	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/rules"
)

// Renderer turns alerts into Slack messages. The zero value renders
// without short names and without evidence links. Safe for concurrent use
// (read-only).
type Renderer struct {
	// Names maps a rule ID to its short name (the controls' definitions
	// give them); a missing rule is shown by its ID alone.
	Names map[string]string
	// APIBase is changeproof's public base URL (alerts.api_url); messages
	// link to the evidence under it. Empty = no evidence link.
	APIBase string
}

// Title names the rule and what happened: "CM-2 independent-approval
// failed", "AC-2 break-glass-justified: break-glass access (pass)".
func (r Renderer) Title(a outbox.Alert) string {
	rule := a.Rule
	if n := r.Names[a.Rule]; n != "" {
		rule += " " + n
	}
	if a.Transition == TransitionBreakGlass {
		return fmt.Sprintf("%s: break-glass access (%s)", rule, a.Finding.Outcome)
	}
	return rule + " failed"
}

// Message renders one alert. The plain-text fallback and the blocks both
// carry, verbatim, the rule ID and short name, the subject (SHAs in full),
// the subject's link (the finding's Evidence.URL), the people involved,
// the reason, and the evidence link (EvidenceURL). Slack's &, <, > are
// escaped; the reader sees the text unchanged.
//
// Fallback text:
//
//	CM-2 independent-approval failed: acme/pay#7 (https://github.com/acme/pay/pull/7)
//	People: author octocat, merged by octocat
//	Reason: approved only by the author (octocat)
//	Evidence: https://changeproof.acme.io/v1/changes/acme/pay/7
//
// Blocks: a header (the title), a section (subject link, people, reason)
// and a context (evidence link, when the subject occurred, the alert id).
func (r Renderer) Message(a outbox.Alert) slack.Message {
	f := a.Finding
	title := r.Title(a)
	people := strings.Join(People(a.Rule, f.Evidence), ", ")
	if people == "" {
		people = "none recorded"
	}
	evidence := EvidenceURL(r.APIBase, a)
	e := slack.Escape

	var text strings.Builder
	text.WriteString(e(title) + ": " + e(a.Subject))
	if f.Evidence.URL != "" {
		text.WriteString(" (" + e(f.Evidence.URL) + ")")
	}
	text.WriteString("\nPeople: " + e(people))
	text.WriteString("\nReason: " + e(f.Reason))
	if evidence != "" {
		text.WriteString("\nEvidence: " + e(evidence))
	}

	section := "*Subject:* " + slack.Link(f.Evidence.URL, a.Subject) +
		"\n*People:* " + e(people) +
		"\n*Reason:* " + e(slack.Truncate(f.Reason, 2500))
	var ctx []string
	if evidence != "" {
		ctx = append(ctx, slack.Link(evidence, "Evidence in changeproof"))
	}
	if !f.OccurredAt.IsZero() {
		ctx = append(ctx, "Occurred "+f.OccurredAt.UTC().Format(time.RFC3339))
	}
	ctx = append(ctx, "Alert "+e(a.ID))
	return slack.Message{
		Text:   text.String(),
		Blocks: []slack.Block{slack.Header(title), slack.Section(section), slack.Context(ctx...)},
	}
}

// maxDigestList bounds the alerts a digest lists (a message has at most 50
// blocks: header, one section per alert, "and M more", context).
const maxDigestList = 40

// Digest renders many alerts as one message: a header with the count, the
// first list alerts (at most 40; list <= 0 means 20) each with its title,
// subject link, reason and evidence link, then "…and M more." for the rest,
// and a link to every failing finding when APIBase is set.
func (r Renderer) Digest(as []outbox.Alert, list int) slack.Message {
	if list <= 0 {
		list = 20
	}
	list = min(list, maxDigestList, len(as))
	e := slack.Escape
	title := fmt.Sprintf("changeproof digest: %d alerts", len(as))
	var text strings.Builder
	text.WriteString(title)
	blocks := []slack.Block{slack.Header(title)}
	for _, a := range as[:list] {
		f := a.Finding
		t := r.Title(a)
		text.WriteString("\n• " + e(t) + ": " + e(a.Subject))
		if f.Evidence.URL != "" {
			text.WriteString(" (" + e(f.Evidence.URL) + ")")
		}
		text.WriteString(": " + e(f.Reason))
		item := "*" + e(t) + "*: " + slack.Link(f.Evidence.URL, a.Subject) + "\n" + e(slack.Truncate(f.Reason, 2000))
		if ev := EvidenceURL(r.APIBase, a); ev != "" {
			item += " · " + slack.Link(ev, "evidence")
		}
		blocks = append(blocks, slack.Section(item))
	}
	if more := len(as) - list; more > 0 {
		text.WriteString(fmt.Sprintf("\n…and %d more.", more))
		blocks = append(blocks, slack.Section(fmt.Sprintf("…and %d more.", more)))
	}
	if base := strings.TrimRight(r.APIBase, "/"); base != "" {
		all := base + "/v1/findings?outcome=fail"
		text.WriteString("\nAll failing findings: " + e(all))
		blocks = append(blocks, slack.Context(slack.Link(all, "All failing findings in changeproof")))
	}
	return slack.Message{Text: text.String(), Blocks: blocks}
}

// TestMessage is the sample `changeproof alerts test` sends: it proves the
// destination accepts changeproof's messages. source names the sender
// (e.g. the host), now is the time shown.
func TestMessage(source string, now time.Time) slack.Message {
	title := "changeproof alert test"
	body := "This is a test message from changeproof"
	if source != "" {
		body += " (" + source + ")"
	}
	body += ". Alerts for failing change-management and access controls will be posted here."
	when := "Sent " + now.UTC().Format(time.RFC3339)
	return slack.Message{
		Text:   slack.Escape(title + ": " + body),
		Blocks: []slack.Block{slack.Header(title), slack.Section(slack.Escape(body)), slack.Context(when)},
	}
}

// People names the people a finding's evidence involves, in a fixed order:
// "author X" ("changed by X" when the control's definition presents its
// author so, as for a branch protection change), "merged by
// X", "pushed by X", the principal ("access by P" for access events,
// "person P" otherwise, written "NAME (as LOGIN)" when the login maps to
// another person), and "reviewed by A, B" for the reviewers. Repeats are
// dropped.
func People(rule string, e model.Evidence) []string {
	var out []string
	seen := map[string]bool{}
	add := func(s string) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	if e.Author != "" {
		as := "author"
		if d, ok := rules.Lookup(rule); ok && d.Presents.AuthorAs != "" {
			as = d.Presents.AuthorAs
		}
		add(as + " " + e.Author)
	}
	if e.MergedBy != "" {
		add("merged by " + e.MergedBy)
	}
	if e.Pusher != "" {
		add("pushed by " + e.Pusher)
	}
	who := e.Principal
	switch {
	case e.Person != "" && e.Principal != "" && !strings.EqualFold(e.Person, e.Principal):
		who = e.Person + " (as " + e.Principal + ")"
	case who == "":
		who = e.Person
	}
	if who != "" {
		if e.System != "" {
			add("access by " + who)
		} else {
			add("person " + who)
		}
	}
	var reviewers []string
	rs := map[string]bool{}
	for _, rv := range e.Reviews {
		if rv.Reviewer != "" && !rs[rv.Reviewer] {
			rs[rv.Reviewer] = true
			reviewers = append(reviewers, rv.Reviewer)
		}
	}
	if len(reviewers) > 0 {
		add("reviewed by " + strings.Join(reviewers, ", "))
	}
	return out
}
