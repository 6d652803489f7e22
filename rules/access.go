package rules

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/rules/control"
)

// AccessStore walks stored access events and reads verdicts by subject
// range: what full access evaluations read.
//
// JudgedAccess hands fn up to limit events of system with id > after, in
// id order, with at least the fields a control.AccessControl may read, and
// returns how many. VerdictsBetween hands fn the current verdict (evidence
// left empty) of every (rule, subject) with rule in rules and from <=
// subject <= to, sorted by rule then subject in byte order; the finding is
// fn's only for the call.
//
// AccessClasses returns the classes (model.AccessClass) of system's
// stored events that have a time. AccessEventsAlone hands fn, in id order,
// system's events without a time, or by one of principals, or with one of
// ids. RecordClassVerdicts records, inside the store, for every stored
// event of system with a time, of a class of verdicts and not in exclude,
// its class's findings with its own subject and time, where they differ
// from its current verdict (model.Finding.Same) of rules; before, if not
// nil, is handed each to be recorded first (an error records nothing); it
// returns how many it recorded, or errors.ErrUnsupported having done
// nothing when the store cannot.
type AccessStore interface {
	JudgedAccess(ctx context.Context, system, after string, limit int, fn func(model.AccessEvent) error) (int, error)
	VerdictsBetween(ctx context.Context, rules []string, from, to string, fn func(*model.Finding) error) error
	AccessClasses(ctx context.Context, system string) ([]model.AccessClass, error)
	AccessEventsAlone(ctx context.Context, system string, principals, ids []string, fn func(model.AccessEvent) error) error
	RecordClassVerdicts(ctx context.Context, system string, rules []string, verdicts []model.ClassFinding, exclude []string,
		now time.Time, before func([]model.Finding) error) (int, error)
}

// accessPage is how many stored events one step of a full access
// evaluation judges: enough that the two reads per step cost little next
// to it, few enough to hold a step in a few MiB.
const accessPage = 50_000

// EvaluateStoredAccess judges every stored event of system, as
// EvaluateAccess judges events, a page at a time through the Store's
// AccessStore, calling onChanged (if set) with each page's recorded changes.
// It returns how many verdicts it recorded. A system that is not in scope
// is not read.
//
// Millions of events are judged by what decides their verdicts: an event's
// findings depend on its ID and Time only through their Subject and
// OccurredAt (control.AccessControl), unless a control's do, which is
// tested once per kind of event (accessClass) rather than assumed. Events
// of one kind share one judgement; the others are judged as EvaluateAccess
// judges them.
func (e *Evaluator) EvaluateStoredAccess(ctx context.Context, system string, onChanged func([]model.Finding)) (int, error) {
	as := e.Store
	if len(e.AccessControls) == 0 {
		return 0, nil
	}
	env, _ := e.env()
	if _, ok := control.LookupSystem(env.Systems, system); !ok {
		return 0, nil // stored, but not an in-scope system
	}
	// New events judged meanwhile must not skip reading their verdicts:
	// this walk may judge them too (EvaluateNewAccess).
	e.bulkAccess.Add(1)
	defer func() {
		e.bulkEnd.Store(time.Now().UnixNano())
		e.bulkAccess.Add(-1)
	}()
	j := &accessJudge{e: e, env: env, system: system, classes: map[accessClass]*classVerdict{}}
	for _, c := range e.AccessControls {
		j.rules = append(j.rules, c.Definition().ID)
	}
	slices.Sort(j.rules)
	j.rules = slices.Compact(j.rules)
	// Events a waiver names (by id, within this system) are judged alone.
	j.waived = map[string]bool{}
	if e.Waivers != nil {
		for _, w := range e.Waivers() {
			if id, ok := strings.CutPrefix(w.Subject, system+":"); ok {
				j.waived[id] = true
			}
		}
	}
	if !e.OneByOne {
		n, err := j.byClass(ctx, onChanged)
		if !errors.Is(err, errors.ErrUnsupported) {
			return n, err
		}
	}
	recorded := 0
	after := ""
	for {
		var p accessPageState
		n, err := as.JudgedAccess(ctx, system, after, accessPage, func(ev model.AccessEvent) error {
			j.add(&p, ev)
			return nil
		})
		if err != nil {
			return recorded, err
		}
		if n == 0 {
			return recorded, nil
		}
		changed, err := j.page(ctx, as, &p)
		if err != nil {
			return recorded, err
		}
		recorded += len(changed)
		if len(changed) > 0 && onChanged != nil {
			onChanged(changed)
		}
		after = p.last
		if n < accessPage {
			return recorded, nil
		}
	}
}

// byClass judges the system's stored events by class inside the store:
// the engine groups the events by class, each class is judged once here
// (classify), and the store joins the events to their class's findings
// and records those that changed, so millions of events and findings never
// come through Go. Events whose class's findings depend on more than their
// subject and time (classify), without a time, or named by a waiver are
// read and judged one by one as EvaluateAccess judges them. It returns how
// many verdicts it recorded; errors.ErrUnsupported, having done nothing,
// when the store cannot.
func (j *accessJudge) byClass(ctx context.Context, onChanged func([]model.Finding)) (int, error) {
	e, as := j.e, j.e.Store
	classes, err := as.AccessClasses(ctx, j.system)
	if err != nil {
		return 0, err
	}
	var verdicts []model.ClassFinding
	var principals []string // of the classes judged event by event
	for _, c := range classes {
		v := j.classify(model.AccessEvent{Principal: c.Principal, Role: c.Role, Ticket: c.Ticket, Result: c.Result})
		if !v.shared {
			principals = append(principals, c.Principal)
			continue
		}
		for _, f := range v.findings {
			verdicts = append(verdicts, model.ClassFinding{Class: c, Finding: f})
		}
	}
	slices.Sort(principals)
	principals = slices.Compact(principals)
	waived := make([]string, 0, len(j.waived))
	for id := range j.waived {
		waived = append(waived, id)
	}
	slices.Sort(waived)
	var before func([]model.Finding) error
	if e.BeforeRecord != nil || onChanged != nil {
		before = func(fs []model.Finding) error {
			if e.BeforeRecord != nil {
				if err := e.BeforeRecord(ctx, fs); err != nil {
					return fmt.Errorf("before recording %d verdicts: %w", len(fs), err)
				}
			}
			if onChanged != nil {
				onChanged(fs)
			}
			return nil
		}
	}
	_, now := e.env()
	e.accessMu.Lock()
	recorded, err := as.RecordClassVerdicts(ctx, j.system, j.rules, verdicts, waived, now, before)
	e.accessMu.Unlock()
	if err != nil {
		return recorded, err
	}
	// The rest, one by one, a page at a time: each page reads the current
	// verdicts of its stretch of ids, which holds the class events too.
	var alone []model.AccessEvent
	if err := as.AccessEventsAlone(ctx, j.system, principals, waived, func(ev model.AccessEvent) error {
		if !ev.Time.IsZero() && !j.waived[ev.ID] && j.classify(ev).shared {
			return nil // judged with its class
		}
		alone = append(alone, ev)
		return nil
	}); err != nil {
		return recorded, err
	}
	for start := 0; start < len(alone); start += alonePage {
		page := alone[start:min(start+alonePage, len(alone))]
		p := accessPageState{alone: page, n: len(page), first: page[0].ID, last: page[len(page)-1].ID}
		changed, err := j.page(ctx, as, &p)
		recorded += len(changed)
		if len(changed) > 0 && onChanged != nil {
			onChanged(changed)
		}
		if err != nil {
			return recorded, err
		}
	}
	return recorded, nil
}

// alonePage is how many events judged one by one share a read of current
// verdicts: the read covers their stretch of ids, class events included.
const alonePage = 2000

// accessClass is what an event's verdicts may depend on besides its ID and
// Time (control.AccessControl): events of one class get the same findings
// but for subject and occurrence time.
type accessClass struct{ principal, role, ticket, result string }

// classVerdict is a class's findings, judged once: shared says whether
// they hold for every event of the class (else each is judged alone).
// byRule[k] lists the findings of the judge's k-th rule.
type classVerdict struct {
	shared   bool
	findings []model.Finding // Subject and OccurredAt are the event's
	byRule   [][]int
}

// probes are two events of a class that differ in ID and Time only. When
// a control's findings on them differ in anything but subject and time, or
// do not name the probe as subject and its time as occurrence, the control
// reads ID or Time, and the class is judged event by event.
var probes = [2]struct {
	id string
	at time.Time
}{
	{"\x00probe-1", time.Unix(1, 0).UTC()},
	{"\x00probe-2", time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)},
}

type accessJudge struct {
	changed int // the most verdicts a page changed
	e       *Evaluator
	env     control.Env
	system  string
	rules   []string // the access controls' rules, sorted
	waived  map[string]bool
	classes map[accessClass]*classVerdict
}

// sharedEvent is an event of a shared class: all its verdicts need is its
// id and time (the subject is system:id).
type sharedEvent struct {
	id string
	at time.Time
	v  *classVerdict
}

// accessPageState is one page of events, sorted into shared and alone.
type accessPageState struct {
	shared []sharedEvent
	alone  []model.AccessEvent
	n      int
	first  string // the page's first and last ids
	last   string
}

func (j *accessJudge) add(p *accessPageState, ev model.AccessEvent) {
	if p.n == 0 {
		p.first = ev.ID
	}
	p.n++
	p.last = ev.ID
	if v := j.classify(ev); v.shared && !ev.Time.IsZero() && !j.waived[ev.ID] {
		p.shared = append(p.shared, sharedEvent{ev.ID, ev.Time, v})
		return
	}
	p.alone = append(p.alone, ev)
}

func (j *accessJudge) classify(ev model.AccessEvent) *classVerdict {
	k := accessClass{ev.Principal, ev.Role, ev.Ticket, ev.Result}
	if v, ok := j.classes[k]; ok {
		return v
	}
	// The class outlives the page: its strings must not keep the page's
	// memory alive.
	k = accessClass{strings.Clone(k.principal), strings.Clone(k.role), strings.Clone(k.ticket), strings.Clone(k.result)}
	v := &classVerdict{shared: true}
	var got [2][]model.Finding
	for p, pr := range probes {
		probe := model.AccessEvent{ID: pr.id, System: j.system, Time: pr.at, Principal: k.principal, Role: k.role,
			Ticket: k.ticket, Result: k.result}
		pe := &model.AccessEvidence{System: j.system, Events: []model.AccessEvent{probe}}
		for _, c := range j.e.AccessControls {
			got[p] = append(got[p], j.e.checkAccess(c, j.env, pe)...)
		}
	}
	if len(got[0]) != len(got[1]) {
		v.shared = false
	}
	for i := 0; v.shared && i < len(got[0]); i++ {
		a, b := got[0][i], got[1][i]
		if a.Subject != j.system+":"+probes[0].id || b.Subject != j.system+":"+probes[1].id ||
			!a.OccurredAt.Equal(probes[0].at) || !b.OccurredAt.Equal(probes[1].at) {
			v.shared = false
			break
		}
		a.Subject, a.OccurredAt, b.Subject, b.OccurredAt = "", time.Time{}, "", time.Time{}
		if !reflect.DeepEqual(a, b) {
			v.shared = false
		}
	}
	if v.shared {
		v.findings = got[0]
		v.byRule = make([][]int, len(j.rules))
		for i, f := range v.findings {
			r, found := slices.BinarySearch(j.rules, f.Rule)
			if !found {
				v.shared = false // a rule no control names: judge alone
				break
			}
			v.byRule[r] = append(v.byRule[r], i)
		}
	}
	j.classes[k] = v
	return v
}

// page records what changed in a page of events.
//
// The shared events are compared with their current verdicts as these
// stream in, without a finding built for each: the verdicts come sorted by
// rule and subject, the events by id (so by subject), and one walk pairs
// them. Only a verdict that changed becomes a finding. Events judged alone
// take the general path (diff).
func (j *accessJudge) page(ctx context.Context, as AccessStore, p *accessPageState) ([]model.Finding, error) {
	_, now := j.e.env()
	var alone []model.Finding
	if len(p.alone) > 0 {
		pe := &model.AccessEvidence{System: j.system, Events: p.alone}
		for _, c := range j.e.AccessControls {
			alone = append(alone, j.e.checkAccess(c, j.env, pe)...)
		}
		alone = j.e.applyWaivers(alone, now)
		sortFindings(alone)
	}
	from, to := j.system+":"+p.first, j.system+":"+p.last
	for _, f := range alone {
		// A control's error on the whole system widens the stretch read.
		from, to = min(from, f.Subject), max(to, f.Subject)
	}

	w := &accessWalk{j: j, p: p, alone: alone, now: now,
		changed: make([]model.Finding, 0, j.expected(len(p.shared)))}
	// As EvaluateAccess: one evaluation of a subject at a time, so that
	// two judging the same event never both record its verdict.
	j.e.accessMu.Lock()
	defer j.e.accessMu.Unlock()
	if err := as.VerdictsBetween(ctx, j.rules, from, to, w.current); err != nil {
		return nil, fmt.Errorf("read current access findings of %s: %w", j.system, err)
	}
	w.finish()
	j.changed = max(j.changed, len(w.changed))
	// Both lists are sorted (the walk goes rule by rule, subject by
	// subject; diff sorts): merged, not sorted again.
	return j.e.commit(ctx, mergeSorted(w.changed, diff(w.aloneCurrent, alone, now)))
}

// expected is how many changed verdicts to make room for: as many as the
// largest page so far changed (every event, on a first evaluation).
func (j *accessJudge) expected(events int) int {
	return min(j.changed, events*len(j.rules))
}

// mergeSorted merges two lists sorted by keyCompare, a's first among equals.
func mergeSorted(a, b []model.Finding) []model.Finding {
	if len(b) == 0 {
		return a
	}
	out := make([]model.Finding, 0, len(a)+len(b))
	i, k := 0, 0
	for i < len(a) && k < len(b) {
		if keyCompareP(&b[k], &a[i]) < 0 {
			out = append(out, b[k])
			k++
		} else {
			out = append(out, a[i])
			i++
		}
	}
	out = append(out, a[i:]...)
	return append(out, b[k:]...)
}

// accessWalk pairs a page's shared events with the current verdicts, rule
// by rule: rule is the index of the rule the walk is in, next the first
// shared event not yet paired in it.
type accessWalk struct {
	j       *accessJudge
	p       *accessPageState
	now     time.Time
	rule    int
	next    int
	changed []model.Finding
	// alone are the findings of events judged alone, sorted; aloneCurrent
	// collects their current verdicts as the walk passes them.
	alone        []model.Finding
	a            int
	aloneCurrent []model.Finding
}

// current takes the next current verdict.
func (w *accessWalk) current(c *model.Finding) error {
	for w.a < len(w.alone) && keyCompare(w.alone[w.a], *c) < 0 {
		w.a++
	}
	if w.a < len(w.alone) && keyCompare(w.alone[w.a], *c) == 0 {
		w.aloneCurrent = append(w.aloneCurrent, *c)
	}
	r, found := slices.BinarySearch(w.j.rules, c.Rule)
	if !found {
		return nil
	}
	for w.rule < r {
		w.rest()
	}
	// Shared events before c have no current verdict: theirs are new.
	evs := w.p.shared
	for ; w.next < len(evs); w.next++ {
		ev := &evs[w.next]
		if len(ev.v.byRule[r]) == 0 {
			continue
		}
		switch compareSubject(c.Subject, w.j.system, ev.id) {
		case 1:
			w.record(ev, nil)
			continue
		case 0:
			w.record(ev, c)
			w.next++
		}
		return nil // the event is at or after c: c's turn is over
	}
	return nil
}

// rest ends the walk of the current rule: its remaining events have no
// current verdict.
func (w *accessWalk) rest() {
	for ; w.next < len(w.p.shared); w.next++ {
		if ev := &w.p.shared[w.next]; len(ev.v.byRule[w.rule]) > 0 {
			w.record(ev, nil)
		}
	}
	w.rule++
	w.next = 0
}

func (w *accessWalk) finish() {
	for w.rule < len(w.j.rules) {
		w.rest()
	}
}

// record compares ev's findings of the walk's rule with c (nil: none) and
// keeps those that changed, as diff does.
func (w *accessWalk) record(ev *sharedEvent, c *model.Finding) {
	for _, k := range ev.v.byRule[w.rule] {
		f := ev.v.findings[k]
		f.OccurredAt = ev.at
		if c != nil {
			f.Subject = c.Subject // equal to system:id, and already built
			if c.Same(f) {
				continue
			}
		} else {
			f.Subject = w.j.system + ":" + ev.id
		}
		f.EvaluatedAt = w.now
		if c != nil && !f.EvaluatedAt.After(c.EvaluatedAt) {
			f.EvaluatedAt = c.EvaluatedAt.Add(time.Microsecond)
		}
		w.changed = append(w.changed, f)
	}
}

// compareSubject compares subject with system + ":" + id, as
// strings.Compare would, without building the latter.
func compareSubject(subject, system, id string) int {
	n := min(len(subject), len(system))
	if c := strings.Compare(subject[:n], system[:n]); c != 0 {
		return c
	}
	if len(subject) < len(system) {
		return -1 // a proper prefix of system, so of system:id
	}
	rest := subject[len(system):]
	if rest == "" {
		return -1
	}
	if rest[0] != ':' {
		return cmp.Compare(rest[0], ':')
	}
	return strings.Compare(rest[1:], id)
}

// sortFindings sorts fs by rule, then subject, keeping the order of equal
// keys. Findings are large, so an order that is not already right is
// found on their indices and applied once.
func sortFindings(fs []model.Finding) {
	sorted := true
	for i := 1; i < len(fs) && sorted; i++ {
		sorted = keyCompareP(&fs[i-1], &fs[i]) <= 0
	}
	if sorted {
		return
	}
	idx := make([]int32, len(fs))
	for i := range idx {
		idx[i] = int32(i)
	}
	slices.SortStableFunc(idx, func(a, b int32) int { return keyCompareP(&fs[a], &fs[b]) })
	out := make([]model.Finding, len(fs))
	for i, k := range idx {
		out[i] = fs[k]
	}
	copy(fs, out)
}

// keyCompare orders findings by rule, then subject (byte order).
func keyCompare(a, b model.Finding) int { return keyCompareP(&a, &b) }

func keyCompareP(a, b *model.Finding) int {
	if c := strings.Compare(a.Rule, b.Rule); c != 0 {
		return c
	}
	return strings.Compare(a.Subject, b.Subject)
}
