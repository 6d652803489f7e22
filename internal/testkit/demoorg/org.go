package demoorg

import (
	"time"

	"github.com/changeproof/changeproof/internal/testkit/fixture"
)

type repoSpec struct {
	name, branch, ticket string
	inScope              bool
	weight               int
	firstPR              int
	mergeCommits         bool // merge commits (else squash merges)
	titles               []string
}

var repoSpecs = []repoSpec{
	{"payments-api", "main", "PAY", true, 35, 1100, true, []string{
		"Add idempotency keys to refund endpoint", "Validate currency codes on charge requests",
		"Fix rounding in FX conversion", "Retry merchant webhooks with backoff",
		"Expose settlement status in charge response", "Reject refunds above the captured amount",
		"Log correlation ids on payment failures", "Cache merchant config for 60s",
		"Handle card network timeouts", "Add partial capture support",
		"Return 409 on duplicate payment intent", "Move fee calculation into its own service",
		"Mask card numbers in audit logs", "Add metrics for authorisation latency",
	}},
	{"payments-web", "main", "PAY", true, 25, 640, false, []string{
		"Show refund status on order page", "Fix checkout button double submit",
		"Localise payment error messages", "Upgrade router to the latest major",
		"Add dark mode to merchant dashboard", "Lazy-load the receipts table",
		"Fix date picker in statement export", "Explain declined cards in plain words",
		"Remove unused feature flags", "Improve keyboard navigation in checkout",
	}},
	{"ledger", "master", "LED", true, 25, 310, false, []string{
		"Check double entry before committing journals", "Fix off-by-one in statement period",
		"Index postings by account and date", "Reconcile daily balances with the bank file",
		"Store amounts as integer minor units", "Make month-end close idempotent",
		"Add trial balance report", "Speed up account history query",
		"Reject postings to closed accounts", "Backfill missing currency on old entries",
	}},
	{"infra", "main", "OPS", true, 15, 95, false, []string{
		"Increase API pod memory limit", "Rotate database credentials through Vault",
		"Alert on queue depth above threshold", "Pin Terraform provider versions",
		"Enable TLS 1.3 on the load balancer", "Scale ledger workers on lag",
		"Tighten security group for the admin VPN", "Move backups to a separate account",
	}},
	{"sandbox", "main", "SBX", false, 0, 12, false, []string{
		"Try a new lint config", "Experiment with a gRPC gateway", "Spike on event sourcing",
		"Play with the new test runner",
	}},
}

var deps = []struct{ name, from, to string }{
	{"lodash", "4.17.20", "4.17.21"}, {"axios", "1.6.7", "1.7.2"}, {"golang.org/x/net", "0.23.0", "0.25.0"},
	{"express", "4.18.2", "4.19.2"}, {"github.com/stretchr/testify", "1.8.4", "1.9.0"}, {"webpack", "5.90.0", "5.91.0"},
	{"hashicorp/aws", "5.40.0", "5.46.0"}, {"google.golang.org/grpc", "1.62.1", "1.63.2"},
}

// rng is splitmix64: tiny, fast, and fixed forever, so a seed means the
// same history on every Go version (math/rand's derived methods are not
// promised to stay stable).
type rng struct{ s uint64 }

func (r *rng) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}
func (r *rng) intn(n int) int          { return int(r.next() % uint64(n)) }
func (r *rng) chance(p float64) bool   { return float64(r.next()>>11)/(1<<53) < p }
func (r *rng) pick(xs []string) string { return xs[r.intn(len(xs))] }
func (r *rng) dur(lo, hi time.Duration) time.Duration {
	return lo + time.Duration(r.next()%uint64(hi-lo+1))
}

type repo struct {
	repoSpec
	full    string
	nextPR  int
	fx      fixture.Repo
	initial string // tip of the default branch before the history starts
}

type review struct {
	id       int64
	action   string // "submitted" | "dismissed"
	reviewer string
	state    string
	commit   string
	at       time.Time // when the event happens
	// submitted is review.submitted_at when it differs from at: a
	// dismissal keeps the dismissed review's submission time.
	submitted time.Time
	sender    string
	late      bool // delivered right after the merge push instead of at `at`
}
