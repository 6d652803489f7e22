package enrich

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/changeproof/changeproof/model"
)

// The payloads of the newer evidence: check runs, commit statuses and
// repository rulesets. Their bodies are small next to a pull request's,
// so encoding/json reads them.

type checkRunEvent struct {
	Action   string `json:"action"`
	CheckRun *struct {
		ID          int64      `json:"id"`
		Name        string     `json:"name"`
		HeadSHA     string     `json:"head_sha"`
		Status      string     `json:"status"`
		Conclusion  *string    `json:"conclusion"`
		StartedAt   *time.Time `json:"started_at"`
		CompletedAt *time.Time `json:"completed_at"`
		HTMLURL     string     `json:"html_url"`
	} `json:"check_run"`
	Repository *ghRepo `json:"repository"`
}

type statusEvent struct {
	ID         int64      `json:"id"`
	SHA        string     `json:"sha"`
	Context    string     `json:"context"`
	State      string     `json:"state"`
	TargetURL  *string    `json:"target_url"`
	UpdatedAt  *time.Time `json:"updated_at"`
	CreatedAt  *time.Time `json:"created_at"`
	Repository *ghRepo    `json:"repository"`
}

type ghRuleset struct {
	ID           int64  `json:"id"`
	Name         string `json:"name"`
	Target       string `json:"target"`
	SourceType   string `json:"source_type"`
	Source       string `json:"source"`
	Enforcement  string `json:"enforcement"`
	BypassActors []struct {
		ActorID   *int64 `json:"actor_id"`
		ActorType string `json:"actor_type"`
	} `json:"bypass_actors"`
	Conditions *struct {
		RefName *struct {
			Include []string `json:"include"`
			Exclude []string `json:"exclude"`
		} `json:"ref_name"`
		// An organisation ruleset's repositories: by name, id or property.
		RepositoryName *struct {
			Include []string `json:"include"`
			Exclude []string `json:"exclude"`
		} `json:"repository_name"`
		RepositoryID       json.RawMessage `json:"repository_id"`
		RepositoryProperty json.RawMessage `json:"repository_property"`
	} `json:"conditions"`
	Rules []ghRule `json:"rules"`
	Links *struct {
		HTML *struct {
			Href string `json:"href"`
		} `json:"html"`
	} `json:"_links"`
	UpdatedAt *time.Time `json:"updated_at"`
}

type ghRule struct {
	Type       string `json:"type"`
	Parameters *struct {
		RequiredApprovingReviewCount int  `json:"required_approving_review_count"`
		DismissStaleReviewsOnPush    bool `json:"dismiss_stale_reviews_on_push"`
	} `json:"parameters"`
}

type rulesetEvent struct {
	Action  string     `json:"action"`
	Ruleset *ghRuleset `json:"repository_ruleset"`
	Changes *struct {
		Rules *struct {
			Deleted []ghRule `json:"deleted"`
		} `json:"rules"`
		Enforcement *struct {
			From string `json:"from"`
		} `json:"enforcement"`
	} `json:"changes"`
	Repository   *ghRepo `json:"repository"`
	Organization *ghUser `json:"organization"`
	Sender       *ghUser `json:"sender"`
}

// parseCheckRun reads a check_run delivery: one result of a check on a
// commit. A run not yet completed is kept too, so that a check still
// running at merge says so.
func parseCheckRun(d model.Delivery, b *model.Batch) error {
	var e checkRunEvent
	if err := json.Unmarshal(d.Body, &e); err != nil {
		return malformed(d, "%v", err)
	}
	repo, err := repoOf(d, e.Repository)
	if err != nil {
		return err
	}
	cr := e.CheckRun
	if cr == nil || cr.Name == "" {
		return malformed(d, "no check_run.name")
	}
	if len(cr.HeadSHA) != 40 {
		return malformed(d, "check_run.head_sha %q is not a full commit SHA", cr.HeadSHA)
	}
	c := model.CheckResult{Repo: repo, SHA: strings.ToLower(cr.HeadSHA), Name: cr.Name, Kind: model.CheckKindRun,
		ID: cr.ID, URL: cr.HTMLURL, DeliveryID: d.DeliveryID, ReceivedAt: d.ReceivedAt}
	switch {
	case cr.Conclusion != nil && *cr.Conclusion != "":
		c.State = strings.ToLower(*cr.Conclusion)
		if cr.CompletedAt == nil {
			return malformed(d, "check_run.conclusion %q without completed_at", *cr.Conclusion)
		}
		c.At = cr.CompletedAt.UTC()
	default:
		c.State = strings.ToLower(cr.Status)
		if c.State == "" || c.State == "completed" {
			return malformed(d, "check_run.status %q without conclusion", cr.Status)
		}
		if cr.StartedAt == nil {
			// A queued run has no time of its own: it says nothing a
			// missing result does not say.
			return nil
		}
		c.At = cr.StartedAt.UTC()
	}
	if err := model.CheckTime("check_run.completed_at", c.At); err != nil {
		return malformed(d, "%v", err)
	}
	b.Checks = append(b.Checks, c)
	return nil
}

// parseStatus reads a status delivery: one commit status.
func parseStatus(d model.Delivery, b *model.Batch) error {
	var e statusEvent
	if err := json.Unmarshal(d.Body, &e); err != nil {
		return malformed(d, "%v", err)
	}
	repo, err := repoOf(d, e.Repository)
	if err != nil {
		return err
	}
	if e.Context == "" || e.State == "" {
		return malformed(d, "status without context or state")
	}
	if len(e.SHA) != 40 {
		return malformed(d, "status sha %q is not a full commit SHA", e.SHA)
	}
	at := e.UpdatedAt
	if at == nil {
		at = e.CreatedAt
	}
	if at == nil {
		return malformed(d, "status without updated_at")
	}
	c := model.CheckResult{Repo: repo, SHA: strings.ToLower(e.SHA), Name: e.Context, Kind: model.CheckKindStatus,
		State: strings.ToLower(e.State), At: at.UTC(), ID: e.ID, DeliveryID: d.DeliveryID, ReceivedAt: d.ReceivedAt}
	if e.TargetURL != nil {
		c.URL = *e.TargetURL
	}
	if err := model.CheckTime("updated_at", c.At); err != nil {
		return malformed(d, "%v", err)
	}
	b.Checks = append(b.Checks, c)
	return nil
}

// parseRuleset reads a repository_ruleset delivery. An organisation
// ruleset's payload has no repository: it is kept under its organisation.
func parseRuleset(d model.Delivery, b *model.Batch) error {
	var e rulesetEvent
	if err := json.Unmarshal(d.Body, &e); err != nil {
		return malformed(d, "%v", err)
	}
	if e.Ruleset == nil || e.Ruleset.ID == 0 {
		return malformed(d, "no repository_ruleset.id")
	}
	r := RulesetRecord(*e.Ruleset)
	r.DeliveryID, r.Action, r.ReceivedAt = d.DeliveryID, e.Action, d.ReceivedAt
	switch {
	case e.Repository != nil:
		repo, err := repoOf(d, e.Repository)
		if err != nil {
			return err
		}
		r.Repo, r.DefaultBranch = repo, e.Repository.DefaultBranch
		r.Org, _, _ = strings.Cut(repo, "/")
	case e.Organization != nil && e.Organization.Login != "":
		r.Org = e.Organization.Login
	default:
		return malformed(d, "neither repository nor organization")
	}
	if e.Sender != nil {
		r.Sender = e.Sender.Login
	}
	if e.Changes != nil {
		if e.Changes.Rules != nil {
			for _, rule := range e.Changes.Rules.Deleted {
				if rule.Type == "pull_request" {
					r.ReviewRuleDeleted = true
				}
			}
		}
		if e.Changes.Enforcement != nil {
			r.EnforcementFrom = e.Changes.Enforcement.From
		}
	}
	// A deletion's updated_at is the ruleset's last edit, not the deletion.
	r.OccurredAt = d.ReceivedAt.UTC()
	if e.Action != "deleted" && e.Ruleset.UpdatedAt != nil {
		r.OccurredAt = e.Ruleset.UpdatedAt.UTC()
	}
	if err := model.CheckTime("repository_ruleset.updated_at", r.OccurredAt); err != nil {
		return malformed(d, "%v", err)
	}
	b.Rulesets = append(b.Rulesets, r)
	return nil
}

// RulesetRecord is the canonical state of a ruleset as GitHub describes it,
// in webhooks and in GET /rulesets/{id} alike; the caller sets where it
// was learned (repository, delivery, action, times).
func RulesetRecord(g ghRuleset) model.RulesetEvent {
	r := model.RulesetEvent{RulesetID: g.ID, Name: g.Name, SourceType: g.SourceType, Target: g.Target,
		Enforcement: g.Enforcement, Include: []string{}, Exclude: []string{}, BypassActors: []string{}}
	if g.SourceType == "Organization" {
		r.Org = g.Source
	}
	if g.Conditions != nil && g.Conditions.RefName != nil {
		r.Include = append(r.Include, g.Conditions.RefName.Include...)
		r.Exclude = append(r.Exclude, g.Conditions.RefName.Exclude...)
	}
	if c := g.Conditions; c != nil {
		switch {
		case c.RepositoryName != nil:
			r.RepoTargeting = "name"
			r.RepoInclude = append([]string{}, c.RepositoryName.Include...)
			r.RepoExclude = append([]string{}, c.RepositoryName.Exclude...)
		case len(c.RepositoryID) > 0 && string(c.RepositoryID) != "null":
			r.RepoTargeting = "id"
		case len(c.RepositoryProperty) > 0 && string(c.RepositoryProperty) != "null":
			r.RepoTargeting = "property"
		}
	}
	for _, a := range g.BypassActors {
		id := "null"
		if a.ActorID != nil {
			id = fmt.Sprint(*a.ActorID)
		}
		r.BypassActors = append(r.BypassActors, a.ActorType+":"+id)
	}
	for _, rule := range g.Rules {
		if rule.Type == "pull_request" {
			r.HasReviewRule = true
			if rule.Parameters != nil {
				r.RequiredApprovals = rule.Parameters.RequiredApprovingReviewCount
				r.DismissStale = rule.Parameters.DismissStaleReviewsOnPush
			}
		}
	}
	if g.Links != nil && g.Links.HTML != nil {
		r.URL = g.Links.HTML.Href
	}
	return r
}

// ParseRuleset decodes a ruleset as GET /repos/{o}/{r}/rulesets/{id}
// returns it (the same object a repository_ruleset webhook carries).
func ParseRuleset(body []byte) (model.RulesetEvent, error) {
	var g ghRuleset
	if err := json.Unmarshal(body, &g); err != nil {
		return model.RulesetEvent{}, fmt.Errorf("%w: ruleset: %v", ErrMalformed, err)
	}
	if g.ID == 0 {
		return model.RulesetEvent{}, fmt.Errorf("%w: ruleset without id", ErrMalformed)
	}
	r := RulesetRecord(g)
	if g.UpdatedAt != nil {
		r.OccurredAt = g.UpdatedAt.UTC()
	}
	return r, nil
}

// prContributions records a pull request's head (from any event that
// carries the full pull request) and, for "synchronize", its sender's push.
func prContributions(d model.Delivery, b *model.Batch, repo, action string, p *ghPR, sender *ghUser, after string) {
	if p == nil || p.Number == 0 {
		return
	}
	if p.CreatedAt != nil && p.User != nil {
		head := repo
		if p.Head.Repo != nil && p.Head.Repo.FullName != "" {
			head = p.Head.Repo.FullName
		}
		b.Contributions = append(b.Contributions, model.Contribution{Repo: repo, PRNumber: p.Number, HeadRepo: head,
			HeadRef: p.Head.Ref, Login: p.User.Login, How: model.ContribOpened, SHA: "", At: p.CreatedAt.UTC(),
			DeliveryID: d.DeliveryID, ReceivedAt: d.ReceivedAt})
	}
	if action == "synchronize" && sender != nil && sender.Login != "" {
		at := d.ReceivedAt.UTC()
		if p.UpdatedAt != nil {
			at = p.UpdatedAt.UTC()
		}
		if after == "" {
			after = p.Head.SHA
		}
		b.Contributions = append(b.Contributions, model.Contribution{Repo: repo, PRNumber: p.Number, HeadRef: p.Head.Ref,
			Login: sender.Login, How: model.ContribPushed, SHA: after, At: at, DeliveryID: d.DeliveryID, ReceivedAt: d.ReceivedAt})
	}
}

// pushContributions records who pushed to, and authored and committed on,
// a branch other than the default one: it may be a pull request's head.
func pushContributions(d model.Delivery, b *model.Batch, e *pushEvent, p model.Push) {
	branch, ok := strings.CutPrefix(e.Ref, "refs/heads/")
	if !ok || branch == p.DefaultBranch || e.Deleted || p.PushedAt.IsZero() {
		return
	}
	add := func(login, how, sha string) {
		if login == "" {
			return
		}
		for _, c := range b.Contributions[len(b.Contributions)-n(b, d):] {
			if c.Login == login && c.How == how && c.SHA == sha {
				return
			}
		}
		b.Contributions = append(b.Contributions, model.Contribution{Repo: p.Repo, HeadRef: branch, Login: login,
			How: how, SHA: sha, At: p.PushedAt, DeliveryID: d.DeliveryID, ReceivedAt: d.ReceivedAt})
	}
	if e.Sender != nil {
		add(e.Sender.Login, model.ContribPushed, e.After)
	}
	if e.Pusher != nil {
		add(e.Pusher.Name, model.ContribPushed, e.After)
	}
	for _, c := range e.Commits {
		if c.Author != nil {
			add(c.Author.Username, model.ContribAuthored, c.ID)
		}
		if c.Committer != nil {
			add(c.Committer.Username, model.ContribCommitted, c.ID)
		}
	}
}

// n counts the contributions of delivery d at the end of b.
func n(b *model.Batch, d model.Delivery) int {
	k := 0
	for i := len(b.Contributions) - 1; i >= 0 && b.Contributions[i].DeliveryID == d.DeliveryID; i-- {
		k++
	}
	return k
}
