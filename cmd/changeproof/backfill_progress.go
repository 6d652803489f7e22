package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/changeproof/changeproof/ingest/backfill"
)

// backfillProgress shows a backfill's progress: on a terminal one line
// redrawn in place (repositories, PRs, requests, rate budget), elsewhere
// (CI logs, files) one plain line per finished step.
type backfillProgress struct {
	w    io.Writer
	tty  bool
	mu   sync.Mutex
	last time.Time
	drew bool
}

func newBackfillProgress(f *os.File) *backfillProgress {
	return &backfillProgress{w: f, tty: isTerminal(f)}
}

// isTerminal reports whether f is a terminal: the terminal ioctl answers.
// Being a character device is not enough: /dev/null is one, and a
// redirected run (cron, `> /dev/null`) must get plain lines, not escapes.
func isTerminal(f *os.File) bool {
	return term.IsTerminal(int(f.Fd()))
}

// Report implements backfill.Options.Progress; safe for concurrent use.
func (b *backfillProgress) Report(p backfill.Progress) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.tty {
		fmt.Fprintf(b.w, "%s: %s (%d PRs; run: %d/%d repositories, %d requests, %d answered 304%s)\n",
			p.Repo, p.Phase, p.PRs, p.ReposDone, p.Repos, p.Requests, p.NotModified, rateText(p))
		return
	}
	// Redraw at most 10 times a second, but always on a finished repository.
	if now := time.Now(); p.Phase == "done" || now.Sub(b.last) >= 100*time.Millisecond {
		b.last = now
		b.drew = true
		fmt.Fprintf(b.w, "\r\033[K%s %d/%d repositories · %d PRs · %d requests (%d × 304)%s · %s %s",
			bar(p.ReposDone, p.Repos, 20), p.ReposDone, p.Repos, p.TotalPRs, p.Requests, p.NotModified, rateText(p), p.Repo, p.Phase)
	}
}

// Done ends the redrawn line so that what follows starts on its own.
func (b *backfillProgress) Done() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.tty && b.drew {
		fmt.Fprintln(b.w)
	}
}

func rateText(p backfill.Progress) string {
	if p.RateRemaining < 0 {
		return ""
	}
	return fmt.Sprintf(" · rate budget %d left, resets %s", p.RateRemaining, p.RateReset.Local().Format("15:04"))
}

// bar draws done/total as width cells.
func bar(done, total, width int) string {
	n := 0
	if total > 0 {
		n = min(done*width/total, width)
	}
	b := make([]rune, 0, width+2)
	b = append(b, '[')
	for i := range width {
		if i < n {
			b = append(b, '#')
		} else {
			b = append(b, '.')
		}
	}
	return string(append(b, ']'))
}
