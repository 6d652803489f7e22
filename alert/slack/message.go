package slack

import (
	"strings"
	"unicode/utf8"
)

// Message is one Slack message: Block Kit blocks and the plain-text
// fallback Slack shows in notifications and clients without blocks.
type Message struct {
	Text   string  `json:"text"`
	Blocks []Block `json:"blocks,omitempty"`
}

// Block is a Block Kit layout block: header, section, context or divider.
type Block struct {
	Type     string `json:"type"`
	Text     *Text  `json:"text,omitempty"`
	Elements []Text `json:"elements,omitempty"`
}

// Text is a Block Kit text object: "plain_text" or "mrkdwn".
type Text struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// Block Kit limits (https://api.slack.com/reference/block-kit/blocks).
const (
	MaxHeader  = 150
	MaxSection = 3000
	MaxText    = 40000
	MaxBlocks  = 50
)

// Header is a header block; s is plain text, cut to MaxHeader.
func Header(s string) Block {
	return Block{Type: "header", Text: &Text{Type: "plain_text", Text: Truncate(s, MaxHeader)}}
}

// Section is a section block of mrkdwn, cut to MaxSection.
func Section(mrkdwn string) Block {
	return Block{Type: "section", Text: &Text{Type: "mrkdwn", Text: Truncate(mrkdwn, MaxSection)}}
}

// Context is a context block of mrkdwn elements.
func Context(mrkdwn ...string) Block {
	b := Block{Type: "context"}
	for _, m := range mrkdwn {
		b.Elements = append(b.Elements, Text{Type: "mrkdwn", Text: Truncate(m, MaxSection)})
	}
	return b
}

// Divider is a divider block.
func Divider() Block { return Block{Type: "divider"} }

var escaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// Escape makes s literal in Slack text: &, < and > are the only characters
// Slack's formatting requires escaping; the reader sees s unchanged.
func Escape(s string) string { return escaper.Replace(s) }

// Link is Slack's link markup <url|label> with label escaped; just the
// escaped label when url is empty.
func Link(url, label string) string {
	if url == "" {
		return Escape(label)
	}
	return "<" + Escape(url) + "|" + Escape(label) + ">"
}

// Truncate cuts s to at most n bytes of whole runes, ending with "…" when
// it cut.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const ell = "…"
	cut := n - len(ell)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:max(cut, 0)] + ell
}
