package main

import "github.com/changeproof/changeproof/api"

// newAdmin is the maintenance this process offers: under /v1/admin when it
// serves the API, and to the CLI on a data dir. A backfill needs the rules
// here (what it reads is judged as it is written) and GitHub credentials.
func (a *app) newAdmin() *api.Admin {
	ad := &api.Admin{Store: a.store}
	switch why := cannotBackfill(a.cfg); {
	case !a.roles.rules:
		ad.NoBackfill = "this process does not run the rules (serve --roles); ask the one that does"
	case why != "":
		ad.NoBackfill = why
	default:
		ad.Backfill = a.githubBackfill
	}
	if a.alerts != nil {
		// A requeued alert goes out now rather than at the next round.
		ad.AlertsRequeued = a.alerts.Poke
	}
	return ad
}
