package enrich

import (
	"time"

	"github.com/changeproof/changeproof/model"
)

// ParseGitHub adds the canonical records of one GitHub delivery to b.
// Events the controls do not read (ping, issues, ...) add nothing. An error
// wraps ErrMalformed and names the missing or bad field; b is then left as
// it was. A time outside the evidence range (model.CheckTime) is such an
// error, so the delivery is a dead letter instead of a row the engine
// would clamp or refuse.
func ParseGitHub(d model.Delivery, b *model.Batch) error {
	prs, reviews, pushes, prots, deploys := len(b.PullRequests), len(b.Reviews), len(b.Pushes), len(b.Protections), len(b.Deploys)
	err := parseGitHub(d, b)
	if err == nil {
		err = checkTimes(d, b, prs, reviews, pushes, prots, deploys)
	}
	if err != nil {
		b.PullRequests, b.Reviews, b.Pushes = b.PullRequests[:prs], b.Reviews[:reviews], b.Pushes[:pushes]
		b.Protections, b.Deploys = b.Protections[:prots], b.Deploys[:deploys]
	}
	return err
}

// checkTimes holds the times of the records added after the given lengths
// to the evidence range.
func checkTimes(d model.Delivery, b *model.Batch, prs, reviews, pushes, prots, deploys int) error {
	type field struct {
		name string
		t    time.Time
	}
	var fs []field
	for _, p := range b.PullRequests[prs:] {
		fs = append(fs, field{"pull_request.merged_at", p.MergedAt}, field{"pull_request.updated_at", p.UpdatedAt})
	}
	for _, r := range b.Reviews[reviews:] {
		fs = append(fs, field{"review.submitted_at", r.SubmittedAt})
	}
	for _, p := range b.Pushes[pushes:] {
		fs = append(fs, field{"push time (repository.pushed_at or head_commit.timestamp)", p.PushedAt})
	}
	for _, p := range b.Protections[prots:] {
		fs = append(fs, field{"rule.updated_at", p.OccurredAt})
	}
	for _, x := range b.Deploys[deploys:] {
		fs = append(fs, field{"deployment.created_at", x.StartedAt}, field{"deployment_status time", x.FinishedAt})
	}
	for _, f := range fs {
		if err := model.CheckTime(f.name, f.t); err != nil {
			return malformed(d, "%v", err)
		}
	}
	return nil
}
