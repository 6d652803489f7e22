package rules

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/rules/control"
)

// A full evaluation judges again only what may have changed. Beside the
// verdicts, each repository and access system keeps the digest of the
// evidence it was judged from (computed by the engine: StateStore), the
// fingerprint of the configuration and controls that judged it, and the
// next time time alone can change one of its verdicts. A unit whose digest
// and fingerprint are unchanged and whose deadline has not come would be
// judged to exactly the verdicts it has, so it is left alone.
//
// The digest is taken before the evidence is read: a row written between
// the two may be judged and not counted in the digest, which costs one
// needless re-judgement next time, never a missed one.

// deadline is when time alone may next change a unit's verdicts: at is
// the earliest such time (zero: none known), due that some verdict depends
// on time in a way no deadline records (judge it at every chance).
type deadline struct {
	at  time.Time
	due bool
}

// passed reports whether now is past the deadline.
func (d deadline) passed(now time.Time) bool {
	return d.due || (!d.at.IsZero() && now.After(d.at))
}

func (d deadline) timed() bool { return d.due || !d.at.IsZero() }

// earliest returns the earlier of d and t (a zero t is none).
func (d deadline) earliest(t time.Time) deadline {
	if !t.IsZero() && (d.at.IsZero() || t.Before(d.at)) {
		d.at = t
	}
	return d
}

// repoDeadline is when time alone can next change fresh, judged with env
// (whose memo noted the windows still open): a waiver expiring, a window
// closing. A pending verdict without a noted window is due at every chance.
func repoDeadline(env control.Env, fresh []model.Finding) deadline {
	d := deadline{}.earliest(env.NextDeadline())
	for i := range fresh {
		f := &fresh[i]
		switch f.Outcome {
		case model.Waived:
			if f.Waiver != nil {
				d = d.earliest(f.Waiver.Expires)
			} else {
				d.due = true
			}
		case model.Pending:
			if env.NextDeadline().IsZero() {
				d.due = true
			}
		}
	}
	return d
}

// accessDeadline is when a waiver of one of system's events next expires
// after now: the only way time changes an access verdict.
func accessDeadline(system string, waivers []model.Waiver, now time.Time) deadline {
	d := deadline{}
	for _, w := range waivers {
		if strings.HasPrefix(w.Subject, system+":") && w.Expires.After(now) {
			d = d.earliest(w.Expires)
		}
	}
	return d
}

// buildVersion identifies the code that judges: the binary's revision
// when it was built from a repository, so that new controls' code judges
// everything again.
var buildVersion = sync.OnceValue(func() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	v := bi.Main.Path + "@" + bi.Main.Version
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision", "vcs.time", "vcs.modified":
			v += " " + s.Key + "=" + s.Value
		}
	}
	return v
})

// judgeVersion is raised when what evaluation records for the same
// evidence and configuration changes without the controls' definitions
// changing, for builds without a revision.
const judgeVersion = 1

// fingerprint identifies everything besides the evidence and the clock
// that verdicts depend on: the policy, identities, environments, systems,
// waivers, and the controls (their definitions and the code's version).
func (e *Evaluator) fingerprint(env control.Env) (uint64, error) {
	var waivers []model.Waiver
	if e.Waivers != nil {
		waivers = e.Waivers()
	}
	var defs []string
	for _, c := range e.Controls {
		d := c.Definition()
		defs = append(defs, fmt.Sprintf("%s %s %v", d.ID, d.Name, d.Outcomes))
	}
	for _, c := range e.AccessControls {
		d := c.Definition()
		defs = append(defs, fmt.Sprintf("access %s %s %v", d.ID, d.Name, d.Outcomes))
	}
	b, err := json.Marshal(struct {
		Policy                 control.Policy
		Identities             []model.Identity
		ProductionEnvironments []string
		Systems                map[string]control.System
		Waivers                []model.Waiver
		Controls               []string
		Version                string
		Judge                  int
	}{env.Policy, env.Identities.All(), env.ProductionEnvironments, env.Systems, waivers, defs, buildVersion(), judgeVersion})
	if err != nil {
		return 0, fmt.Errorf("fingerprint the configuration: %w", err)
	}
	h := fnv.New64a()
	h.Write(b)
	return h.Sum64(), nil
}

// StaleRepos returns, of repos, those a full evaluation must judge: their
// evidence digest or the configuration's fingerprint differs from what
// their recorded verdicts were judged with, a deadline of theirs has
// passed, or they were never judged. It also returns the digests, taken
// now, for EvaluateRepos to record (nil when none could be read). Units
// left alone are remembered for DueRepos by their recorded deadline.
//
// With OneByOne, or when the states cannot be read, every repository is
// stale.
func (e *Evaluator) StaleRepos(ctx context.Context, repos []string) ([]string, map[string]uint64, error) {
	if e.OneByOne || len(repos) == 0 {
		return repos, nil, nil
	}
	env, now := e.env()
	fp, err := e.fingerprint(env)
	if err != nil {
		return repos, nil, err
	}
	digests, err := e.Store.EvidenceDigests(ctx, nil)
	if err != nil {
		return repos, nil, err
	}
	states, err := e.Store.EvaluationStates(ctx, model.ScopeRepo)
	if err != nil {
		return repos, nil, err
	}
	var stale []string
	for _, repo := range repos {
		st, ok := states[repo]
		d := deadline{at: st.NextDeadline, due: st.Due}
		if !ok || st.Fingerprint != fp || st.Digest != digests[repo] || d.passed(now) {
			stale = append(stale, repo)
			continue
		}
		e.setTimed(repo, d)
	}
	return stale, digests, nil
}

// staleSystems returns, of systems, those a full access evaluation must
// judge, as StaleRepos does for repositories, with the digests to record.
func (e *Evaluator) staleSystems(ctx context.Context, systems []string) ([]string, map[string]uint64, error) {
	if e.OneByOne || len(systems) == 0 {
		return systems, nil, nil
	}
	env, now := e.env()
	fp, err := e.fingerprint(env)
	if err != nil {
		return systems, nil, err
	}
	digests, err := e.Store.AccessDigests(ctx)
	if err != nil {
		return systems, nil, err
	}
	states, err := e.Store.EvaluationStates(ctx, model.ScopeAccess)
	if err != nil {
		return systems, nil, err
	}
	var stale []string
	for _, sys := range systems {
		st, ok := states[sys]
		d := deadline{at: st.NextDeadline, due: st.Due}
		if !ok || st.Fingerprint != fp || st.Digest != digests[sys] || d.passed(now) {
			stale = append(stale, sys)
		}
	}
	return stale, digests, nil
}

// recordAccessState records that system's events, of the given digest,
// are judged under the current configuration.
func (e *Evaluator) recordAccessState(ctx context.Context, system string, digest uint64) error {
	env, now := e.env()
	fp, err := e.fingerprint(env)
	if err != nil {
		return err
	}
	var waivers []model.Waiver
	if e.Waivers != nil {
		waivers = e.Waivers()
	}
	d := accessDeadline(system, waivers, now)
	return e.Store.PutEvaluationStates(ctx, []model.EvaluationState{{Scope: model.ScopeAccess, Name: system,
		Digest: digest, Fingerprint: fp, NextDeadline: d.at, Due: d.due, EvaluatedAt: time.Now().UTC()}})
}

// setTimed remembers repo's deadline for DueRepos (none: forgets it).
func (e *Evaluator) setTimed(repo string, d deadline) {
	e.timedMu.Lock()
	defer e.timedMu.Unlock()
	if e.timed == nil {
		e.timed = map[string]deadline{}
	}
	if d.timed() {
		e.timed[repo] = d
	} else {
		delete(e.timed, repo)
	}
}

// TimedRepos lists the repositories whose verdicts, as last judged (or
// left alone) here, time alone can change: a pending or waived finding.
func (e *Evaluator) TimedRepos() []string {
	e.timedMu.Lock()
	defer e.timedMu.Unlock()
	out := make([]string, 0, len(e.timed))
	for repo := range e.timed {
		out = append(out, repo)
	}
	slices.Sort(out)
	return out
}

// DueRepos lists, of TimedRepos, those whose deadline has passed: what
// is worth judging again when nothing was reported.
func (e *Evaluator) DueRepos() []string {
	_, now := e.env()
	e.timedMu.Lock()
	defer e.timedMu.Unlock()
	var out []string
	for repo, d := range e.timed {
		if d.passed(now) {
			out = append(out, repo)
		}
	}
	slices.Sort(out)
	return out
}
