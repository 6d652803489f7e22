package store

import (
	"context"
	"fmt"
	"time"

	"github.com/changeproof/changeproof/model"
)

// DeploysOf returns every deploy of a repository's code, oldest first by
// event time (finished, else started).
func (s *Store) DeploysOf(ctx context.Context, repo string) ([]model.Deploy, error) {
	var rows []deployRow
	if err := s.db.Query(ctx, "SELECT * FROM deploys FINAL WHERE repo = {repo:String} ORDER BY "+deployTimeSQL+", id",
		Params{"repo": repo}, &rows); err != nil {
		return nil, fmt.Errorf("read deploys of %s: %w", repo, err)
	}
	out := make([]model.Deploy, len(rows))
	for i, r := range rows {
		out[i] = r.model()
	}
	return out, nil
}

// DeploysBetween returns every deploy whose event time (finished, else
// started) lies in [from, to).
func (s *Store) DeploysBetween(ctx context.Context, from, to time.Time) ([]model.Deploy, error) {
	var rows []deployRow
	if err := s.db.Query(ctx, "SELECT * FROM deploys FINAL WHERE "+deployTimeSQL+" >= {from:DateTime64(3, 'UTC')} AND "+
		deployTimeSQL+" < {to:DateTime64(3, 'UTC')} ORDER BY service, environment, id", periodParams(from, to), &rows); err != nil {
		return nil, fmt.Errorf("read deploys: %w", err)
	}
	out := make([]model.Deploy, len(rows))
	for i, r := range rows {
		out[i] = r.model()
	}
	return out, nil
}

// periodParams binds {from} and {to}; zero bounds are open.
func periodParams(from, to time.Time) Params {
	p := Params{"from": "1970-01-01 00:00:00.000", "to": "2299-12-31 23:59:59.999"}
	if !from.IsZero() {
		p["from"] = chTime(from)
	}
	if !to.IsZero() {
		p["to"] = chTime(to)
	}
	return p
}
