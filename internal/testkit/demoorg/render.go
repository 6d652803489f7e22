package demoorg

import (
	"cmp"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/changeproof/changeproof/internal/testkit/fixture"
	"github.com/changeproof/changeproof/model"
)

// ping adds the ping GitHub sends when the webhook is created, before
// anything else.
func (g *gen) ping() {
	r := g.repos[0]
	g.newEv(g.o.Now.AddDate(0, 0, -91), 0, "ping", "ping", r, func(e *ev) []byte { return fixture.Ping(r.fx) })
}

// render orders the events, threads each repository's default-branch chain
// through the pushes, assigns delivery ids and builds the bodies.
func (g *gen) render() []fixture.Delivery {
	slices.SortFunc(g.evs, func(a, b *ev) int {
		return cmp.Or(a.at.Compare(b.at), cmp.Compare(a.ord, b.ord), cmp.Compare(a.seq, b.seq))
	})
	tip := map[*repo]string{}
	lastPush := map[*repo]time.Time{}
	for _, e := range g.evs {
		if e.push != nil {
			if e.chain {
				before, ok := tip[e.repo]
				if !ok {
					before = e.repo.initial
				}
				e.push.Before = before
				tip[e.repo] = e.push.After
			}
			lastPush[e.repo] = e.push.PushedAt
		} else {
			e.pushedAt = lastPush[e.repo]
		}
	}
	out := make([]fixture.Delivery, len(g.evs))
	for i, e := range g.evs {
		out[i] = fixture.Delivery{Event: e.event, ID: fixture.DeliveryID(fmt.Sprintf("demoorg/%d/%s", g.o.Seed, e.key))}
	}
	for _, pe := range g.protectionEvs {
		for i, e := range g.evs {
			if e == pe.e && pe.ruleset != 0 {
				s := fmt.Sprintf("%s:ruleset/%d@%s", e.repo.full, pe.ruleset, out[i].ID)
				g.add(pe.cat, s)
				g.expect("CM-6", s, model.Fail)
			} else if e == pe.e {
				s := e.repo.full + ":protection@" + out[i].ID
				g.add(pe.cat, s)
				switch pe.cat {
				case CatProtectionOK:
					g.expect("CM-6", s, model.Pass)
				case CatProtectionWeakened, CatProtectionDeleted:
					g.expect("CM-6", s, model.Fail)
				}
			}
		}
	}
	// Bodies are independent of each other once the chain is threaded, so
	// build them in parallel; each lands at its fixed index, which keeps the
	// output deterministic.
	workers := min(runtime.GOMAXPROCS(0), 8)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(g.evs); i += workers {
				out[i].Body = g.evs[i].build(g.evs[i])
			}
		}()
	}
	wg.Wait()
	return out
}
