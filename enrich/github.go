package enrich

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/changeproof/changeproof/model"
)

// ErrMalformed marks a delivery that is JSON but not the shape its event
// promises; such deliveries become dead letters.
var ErrMalformed = errors.New("malformed payload")

type ghUser struct {
	Login string `json:"login"`
}

type ghRepo struct {
	FullName      string          `json:"full_name"`
	DefaultBranch string          `json:"default_branch"`
	PushedAt      json.RawMessage `json:"pushed_at"` // Unix seconds in push events, RFC 3339 elsewhere
	HTMLURL       string          `json:"html_url"`
}

type ghPR struct {
	Number         int        `json:"number"`
	State          string     `json:"state"`
	Merged         bool       `json:"merged"`
	MergedAt       *time.Time `json:"merged_at"`
	MergeCommitSHA string     `json:"merge_commit_sha"`
	Head           struct {
		SHA  string  `json:"sha"`
		Ref  string  `json:"ref"`
		Repo *ghRepo `json:"repo"`
	} `json:"head"`
	Base struct {
		Ref string `json:"ref"`
	} `json:"base"`
	User     *ghUser `json:"user"`
	MergedBy *ghUser `json:"merged_by"`
	Title    string  `json:"title"`
	Body     *string `json:"body"`
	HTMLURL  string  `json:"html_url"`
	Labels   []struct {
		Name string `json:"name"`
	} `json:"labels"`
	UpdatedAt *time.Time `json:"updated_at"`
	CreatedAt *time.Time `json:"created_at"`
}

type prEvent struct {
	Action      string  `json:"action"`
	Number      int     `json:"number"`
	PullRequest *ghPR   `json:"pull_request"`
	Repository  *ghRepo `json:"repository"`
	Sender      *ghUser `json:"sender"`
	After       string  `json:"after"` // synchronize: the new head
}

// ghReview is a pull_request_review payload's review.
type ghReview struct {
	ID          int64      `json:"id"`
	User        *ghUser    `json:"user"`
	State       string     `json:"state"`
	CommitID    string     `json:"commit_id"`
	SubmittedAt *time.Time `json:"submitted_at"`
	HTMLURL     string     `json:"html_url"`
}

type reviewEvent struct {
	Action      string    `json:"action"`
	Review      *ghReview `json:"review"`
	PullRequest *ghPR     `json:"pull_request"`
	Repository  *ghRepo   `json:"repository"`
}

type pushEvent struct {
	Ref     string `json:"ref"`
	Before  string `json:"before"`
	After   string `json:"after"`
	Created bool   `json:"created"`
	Deleted bool   `json:"deleted"`
	Forced  bool   `json:"forced"`
	Compare string `json:"compare"`
	Pusher  *struct {
		Name string `json:"name"`
	} `json:"pusher"`
	Sender     *ghUser `json:"sender"`
	Repository *ghRepo `json:"repository"`
	HeadCommit *struct {
		ID        string     `json:"id"`
		Message   string     `json:"message"`
		Timestamp *time.Time `json:"timestamp"`
	} `json:"head_commit"`
	Commits []pushCommit `json:"commits"`
}

type pushCommit struct {
	ID        string       `json:"id"`
	Message   string       `json:"message"`
	Author    *gitIdentity `json:"author"`
	Committer *gitIdentity `json:"committer"`
}

// gitIdentity is a commit's author or committer; Username is the GitHub
// login when GitHub could match the e-mail to one.
type gitIdentity struct {
	Username string `json:"username"`
}

type deploymentStatusEvent struct {
	DeploymentStatus *struct {
		State       string     `json:"state"`
		Environment string     `json:"environment"`
		TargetURL   string     `json:"target_url"`
		LogURL      string     `json:"log_url"`
		Creator     *ghUser    `json:"creator"`
		CreatedAt   *time.Time `json:"created_at"`
		UpdatedAt   *time.Time `json:"updated_at"`
	} `json:"deployment_status"`
	Deployment *struct {
		ID          int64      `json:"id"`
		SHA         string     `json:"sha"`
		Environment string     `json:"environment"`
		Creator     *ghUser    `json:"creator"`
		CreatedAt   *time.Time `json:"created_at"`
	} `json:"deployment"`
	Repository *ghRepo `json:"repository"`
}

type protectionEvent struct {
	Action string `json:"action"`
	Rule   *struct {
		Name                          string     `json:"name"`
		PullRequestReviewsEnforcement string     `json:"pull_request_reviews_enforcement_level"`
		RequiredApprovingReviewCount  int        `json:"required_approving_review_count"`
		DismissStaleReviewsOnPush     bool       `json:"dismiss_stale_reviews_on_push"`
		AdminEnforced                 bool       `json:"admin_enforced"`
		UpdatedAt                     *time.Time `json:"updated_at"`
	} `json:"rule"`
	Sender     *ghUser `json:"sender"`
	Repository *ghRepo `json:"repository"`
}

// GitHubEvents are the webhook events ParseGitHub reads. Every other
// event (ping, a GitHub App's installation and installation_repositories,
// issues, ...) is kept as evidence in the raw log and adds no record; the
// GitHub App's manifest subscribes to exactly these.
var GitHubEvents = []string{"pull_request", "pull_request_review", "push", "check_run", "status",
	"repository_ruleset", "deployment_status", "branch_protection_rule"}

// ParseGitHub adds the canonical records of one GitHub delivery to b.
// Events the controls do not read (ping, issues, ...) add nothing. An error
// wraps ErrMalformed and names the missing field.
func ParseGitHub(d model.Delivery, b *model.Batch) error {
	switch d.Event {
	case "pull_request":
		var e prEvent
		if err := decode(d.Body, &e, fastPREvent); err != nil {
			return malformed(d, "%v", err)
		}
		if e.PullRequest == nil {
			return malformed(d, "no pull_request")
		}
		repo, err := repoOf(d, e.Repository)
		if err != nil {
			return err
		}
		pr := prRecord(e.PullRequest, repo, e.Repository.DefaultBranch)
		if pr.Number == 0 {
			pr.Number = e.Number
		}
		if pr.Number == 0 {
			return malformed(d, "no pull_request.number")
		}
		pr.DeliveryID, pr.Action, pr.ReceivedAt = d.DeliveryID, e.Action, d.ReceivedAt
		if pr.Merged && pr.MergedAt.IsZero() {
			return malformed(d, "pull_request.merged is true but merged_at is missing")
		}
		b.PullRequests = append(b.PullRequests, pr)
		prContributions(d, b, repo, e.Action, e.PullRequest, e.Sender, e.After)
	case "pull_request_review":
		var e reviewEvent
		if err := decode(d.Body, &e, fastReviewEvent); err != nil {
			return malformed(d, "%v", err)
		}
		if e.Review == nil || e.PullRequest == nil {
			return malformed(d, "no review or pull_request")
		}
		repo, err := repoOf(d, e.Repository)
		if err != nil {
			return err
		}
		if e.Review.ID == 0 || e.Review.User == nil {
			return malformed(d, "review.id or review.user missing")
		}
		if e.PullRequest.Number == 0 {
			return malformed(d, "no pull_request.number")
		}
		// An approval of unknown time could not be placed before or after
		// the merge; GitHub always sends it, so its absence is damage.
		if e.Review.SubmittedAt == nil {
			return malformed(d, "no review.submitted_at")
		}
		r := model.Review{Repo: repo, PRNumber: e.PullRequest.Number, ReviewID: e.Review.ID, DeliveryID: d.DeliveryID,
			Action: e.Action, Reviewer: e.Review.User.Login, State: strings.ToLower(e.Review.State),
			CommitID: e.Review.CommitID, URL: e.Review.HTMLURL, ReceivedAt: d.ReceivedAt}
		r.SubmittedAt = e.Review.SubmittedAt.UTC()
		if e.Action == "dismissed" {
			// The payload keeps the review's submission time; a dismissal
			// applies to that review id whenever it arrives, so findings
			// never depend on arrival time.
			r.State = "dismissed"
		}
		b.Reviews = append(b.Reviews, r)
		// The review event carries the PR too: keep that snapshot, so a PR
		// known only through reviews is still described.
		pr := prRecord(e.PullRequest, repo, e.Repository.DefaultBranch)
		pr.DeliveryID, pr.Action, pr.ReceivedAt = d.DeliveryID, "review_"+e.Action, d.ReceivedAt
		b.PullRequests = append(b.PullRequests, pr)
		prContributions(d, b, repo, "", e.PullRequest, nil, "")
	case "push":
		var e pushEvent
		if err := decode(d.Body, &e, fastPushEvent); err != nil {
			return malformed(d, "%v", err)
		}
		repo, err := repoOf(d, e.Repository)
		if err != nil {
			return err
		}
		if e.Ref == "" || e.After == "" {
			return malformed(d, "push without ref or after")
		}
		p := model.Push{Repo: repo, Ref: e.Ref, Before: e.Before, After: e.After, DeliveryID: d.DeliveryID,
			DefaultBranch: e.Repository.DefaultBranch, Created: e.Created, Deleted: e.Deleted, Forced: e.Forced,
			URL: e.Compare, ReceivedAt: d.ReceivedAt}
		switch {
		case e.Sender != nil && e.Sender.Login != "":
			p.Pusher = e.Sender.Login
		case e.Pusher != nil:
			p.Pusher = e.Pusher.Name
		}
		p.PushedAt = unixOrTime(e.Repository.PushedAt)
		if p.PushedAt.IsZero() && e.HeadCommit != nil && e.HeadCommit.Timestamp != nil {
			p.PushedAt = e.HeadCommit.Timestamp.UTC()
		}
		for _, c := range e.Commits {
			p.CommitSHAs = append(p.CommitSHAs, c.ID)
			p.Messages = append(p.Messages, c.Message)
		}
		if len(e.Commits) == 0 && e.HeadCommit != nil && e.HeadCommit.ID != "" {
			p.CommitSHAs = append(p.CommitSHAs, e.HeadCommit.ID)
			p.Messages = append(p.Messages, e.HeadCommit.Message)
		}
		b.Pushes = append(b.Pushes, p)
		pushContributions(d, b, &e, p)
	case "check_run":
		return parseCheckRun(d, b)
	case "status":
		return parseStatus(d, b)
	case "repository_ruleset":
		return parseRuleset(d, b)
	case "deployment_status":
		var e deploymentStatusEvent
		if err := json.Unmarshal(d.Body, &e); err != nil {
			return malformed(d, "%v", err)
		}
		repo, err := repoOf(d, e.Repository)
		if err != nil {
			return err
		}
		if e.DeploymentStatus == nil || e.Deployment == nil || e.Deployment.ID == 0 {
			return malformed(d, "no deployment_status or deployment.id")
		}
		if len(e.Deployment.SHA) != 40 {
			return malformed(d, "deployment.sha %q is not a full commit SHA", e.Deployment.SHA)
		}
		st := e.DeploymentStatus
		status := ""
		switch strings.ToLower(st.State) {
		case "success":
			status = model.DeploySuccess
		case "failure", "error":
			status = model.DeployFailure
		case "pending", "queued", "in_progress":
			status = model.DeployInProgress
		default:
			// "inactive" marks a deployment superseded by a later one: it
			// says nothing new about what was deployed.
			return nil
		}
		env := e.Deployment.Environment
		if st.Environment != "" {
			env = st.Environment
		}
		dep := model.Deploy{ID: fmt.Sprintf("gh-%d", e.Deployment.ID), Source: "github", Environment: env,
			SHA: strings.ToLower(e.Deployment.SHA), Repo: repo, Status: status, URL: st.TargetURL, ReceivedAt: d.ReceivedAt}
		if dep.URL == "" {
			dep.URL = st.LogURL
		}
		switch {
		case st.Creator != nil && st.Creator.Login != "":
			dep.Actor = st.Creator.Login
		case e.Deployment.Creator != nil:
			dep.Actor = e.Deployment.Creator.Login
		}
		if e.Deployment.CreatedAt != nil {
			dep.StartedAt = e.Deployment.CreatedAt.UTC()
		}
		if status != model.DeployInProgress {
			switch {
			case st.UpdatedAt != nil:
				dep.FinishedAt = st.UpdatedAt.UTC()
			case st.CreatedAt != nil:
				dep.FinishedAt = st.CreatedAt.UTC()
			}
		}
		b.Deploys = append(b.Deploys, dep)
	case "branch_protection_rule":
		var e protectionEvent
		if err := json.Unmarshal(d.Body, &e); err != nil {
			return malformed(d, "%v", err)
		}
		repo, err := repoOf(d, e.Repository)
		if err != nil {
			return err
		}
		if e.Rule == nil {
			return malformed(d, "no rule")
		}
		p := model.ProtectionEvent{Repo: repo, DeliveryID: d.DeliveryID, Action: e.Action, RuleName: e.Rule.Name,
			ReviewEnforcement: e.Rule.PullRequestReviewsEnforcement, RequiredApprovals: e.Rule.RequiredApprovingReviewCount,
			DismissStale: e.Rule.DismissStaleReviewsOnPush, AdminEnforced: e.Rule.AdminEnforced,
			OccurredAt: d.ReceivedAt.UTC(), ReceivedAt: d.ReceivedAt}
		if e.Sender != nil {
			p.Sender = e.Sender.Login
		}
		// A deletion's updated_at is the rule's last edit, not the deletion.
		if e.Action != "deleted" && e.Rule.UpdatedAt != nil {
			p.OccurredAt = e.Rule.UpdatedAt.UTC()
		}
		b.Protections = append(b.Protections, p)
	}
	return nil
}

func prRecord(p *ghPR, repo, defaultBranch string) model.PullRequest {
	pr := model.PullRequest{Repo: repo, Number: p.Number, State: p.State, Merged: p.Merged,
		MergeCommitSHA: p.MergeCommitSHA, HeadSHA: p.Head.SHA, HeadRef: p.Head.Ref, BaseRef: p.Base.Ref,
		DefaultBranch: defaultBranch, Title: p.Title, URL: p.HTMLURL, Labels: []string{}}
	if p.MergedAt != nil {
		pr.MergedAt = p.MergedAt.UTC()
	}
	if p.UpdatedAt != nil {
		pr.UpdatedAt = p.UpdatedAt.UTC()
	}
	if p.User != nil {
		pr.Author = p.User.Login
	}
	if p.MergedBy != nil {
		pr.MergedBy = p.MergedBy.Login
	}
	if p.Body != nil {
		pr.Body = *p.Body
	}
	for _, l := range p.Labels {
		pr.Labels = append(pr.Labels, l.Name)
	}
	return pr
}

func repoOf(d model.Delivery, r *ghRepo) (string, error) {
	if r == nil || r.FullName == "" {
		return "", malformed(d, "no repository.full_name")
	}
	if !validFullName(r.FullName) {
		// A newline or other control character would split CSV rows and
		// file names of every sample that draws the repository.
		return "", malformed(d, "repository.full_name %q is not owner/name", r.FullName)
	}
	if r.DefaultBranch == "" {
		return "", malformed(d, "no repository.default_branch")
	}
	return r.FullName, nil
}

// validFullName reports whether s is owner/name: two non-empty parts, one
// slash, no whitespace or control character.
func validFullName(s string) bool {
	owner, name, ok := strings.Cut(s, "/")
	if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
		return false
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f || (r >= 0x80 && r <= 0x9f) || r == '\u2028' || r == '\u2029' {
			return false
		}
	}
	return true
}

func unixOrTime(raw json.RawMessage) time.Time {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" {
		return time.Time{}
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0).UTC()
	}
	var t time.Time
	if json.Unmarshal(raw, &t) == nil {
		return t.UTC()
	}
	return time.Time{}
}

func malformed(d model.Delivery, format string, args ...any) error {
	return fmt.Errorf("%s delivery %s: %w: %s", d.Event, d.DeliveryID, ErrMalformed, fmt.Sprintf(format, args...))
}
