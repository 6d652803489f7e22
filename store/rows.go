package store

import (
	"encoding/json"
	"time"

	"github.com/changeproof/changeproof/model"
)

// Time is a time.Time as the engine stores it: DateTime64 cannot hold Go's
// zero time (year 1), so zero travels as the Unix epoch and back.
type Time time.Time

var epoch = time.Unix(0, 0).UTC()

// MarshalJSON implements json.Marshaler.
func (t Time) MarshalJSON() ([]byte, error) {
	tt := time.Time(t)
	if tt.IsZero() {
		tt = epoch
	}
	return json.Marshal(tt.UTC().Format(time.RFC3339Nano))
}

// UnmarshalJSON implements json.Unmarshaler.
func (t *Time) UnmarshalJSON(b []byte) error {
	var tt time.Time
	if err := json.Unmarshal(b, &tt); err != nil {
		return err
	}
	if !tt.After(epoch) {
		tt = time.Time{}
	}
	*t = Time(tt.UTC())
	return nil
}

// chTime renders t as a {name:DateTime64(3, 'UTC')} parameter value.
func chTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05.000") }

// deployTimeSQL is a deploy's event time: when it finished, else when it
// started (model.Deploy.OccurredAt).
const deployTimeSQL = "if(finished_at > toDateTime64(0, 3, 'UTC'), finished_at, started_at)"

// T returns the time.Time.
func (t Time) T() time.Time { return time.Time(t) }

type rawRow struct {
	Source     string `json:"source"`
	Event      string `json:"event"`
	DeliveryID string `json:"delivery_id"`
	ReceivedAt Time   `json:"received_at"`
	SHA256     string `json:"sha256"`
	Body       string `json:"body"`
	Chain      string `json:"chain"`
	Seq        uint64 `json:"seq"`
	PrevHash   string `json:"prev_hash"`
	Hash       string `json:"hash"`
}

type prRow struct {
	Repo           string   `json:"repo"`
	Number         int      `json:"number"`
	DeliveryID     string   `json:"delivery_id"`
	Action         string   `json:"action"`
	State          string   `json:"state"`
	Merged         bool     `json:"merged"`
	MergedAt       Time     `json:"merged_at"`
	MergeCommitSHA string   `json:"merge_commit_sha"`
	HeadSHA        string   `json:"head_sha"`
	HeadRef        string   `json:"head_ref"`
	BaseRef        string   `json:"base_ref"`
	DefaultBranch  string   `json:"default_branch"`
	Author         string   `json:"author"`
	MergedBy       string   `json:"merged_by"`
	Title          string   `json:"title"`
	Body           string   `json:"body"`
	URL            string   `json:"url"`
	Labels         []string `json:"labels"`
	UpdatedAt      Time     `json:"updated_at"`
	ReceivedAt     Time     `json:"received_at"`
}

func prToRow(p model.PullRequest) prRow {
	return prRow{p.Repo, p.Number, p.DeliveryID, p.Action, p.State, p.Merged, Time(p.MergedAt), p.MergeCommitSHA,
		p.HeadSHA, p.HeadRef, p.BaseRef, p.DefaultBranch, p.Author, p.MergedBy, p.Title, p.Body, p.URL,
		nonNil(p.Labels), Time(p.UpdatedAt), Time(p.ReceivedAt)}
}

func (r prRow) model() model.PullRequest {
	return model.PullRequest{Repo: r.Repo, Number: r.Number, DeliveryID: r.DeliveryID, Action: r.Action, State: r.State,
		Merged: r.Merged, MergedAt: r.MergedAt.T(), MergeCommitSHA: r.MergeCommitSHA, HeadSHA: r.HeadSHA, HeadRef: r.HeadRef,
		BaseRef: r.BaseRef, DefaultBranch: r.DefaultBranch, Author: r.Author, MergedBy: r.MergedBy, Title: r.Title,
		Body: r.Body, URL: r.URL, Labels: r.Labels, UpdatedAt: r.UpdatedAt.T(), ReceivedAt: r.ReceivedAt.T()}
}

type reviewRow struct {
	Repo        string `json:"repo"`
	PRNumber    int    `json:"pr_number"`
	ReviewID    int64  `json:"review_id"`
	DeliveryID  string `json:"delivery_id"`
	Action      string `json:"action"`
	Reviewer    string `json:"reviewer"`
	State       string `json:"state"`
	CommitID    string `json:"commit_id"`
	SubmittedAt Time   `json:"submitted_at"`
	URL         string `json:"url"`
	ReceivedAt  Time   `json:"received_at"`
}

func reviewToRow(r model.Review) reviewRow {
	return reviewRow{r.Repo, r.PRNumber, r.ReviewID, r.DeliveryID, r.Action, r.Reviewer, r.State, r.CommitID,
		Time(r.SubmittedAt), r.URL, Time(r.ReceivedAt)}
}

func (r reviewRow) model() model.Review {
	return model.Review{Repo: r.Repo, PRNumber: r.PRNumber, ReviewID: r.ReviewID, DeliveryID: r.DeliveryID,
		Action: r.Action, Reviewer: r.Reviewer, State: r.State, CommitID: r.CommitID,
		SubmittedAt: r.SubmittedAt.T(), URL: r.URL, ReceivedAt: r.ReceivedAt.T()}
}

type pushRow struct {
	Repo          string   `json:"repo"`
	Ref           string   `json:"ref"`
	Before        string   `json:"before"`
	After         string   `json:"after"`
	DeliveryID    string   `json:"delivery_id"`
	DefaultBranch string   `json:"default_branch"`
	Pusher        string   `json:"pusher"`
	Created       bool     `json:"created"`
	Deleted       bool     `json:"deleted"`
	Forced        bool     `json:"forced"`
	PushedAt      Time     `json:"pushed_at"`
	CommitSHAs    []string `json:"commit_shas"`
	Messages      []string `json:"messages"`
	URL           string   `json:"url"`
	ReceivedAt    Time     `json:"received_at"`
}

func pushToRow(p model.Push) pushRow {
	return pushRow{p.Repo, p.Ref, p.Before, p.After, p.DeliveryID, p.DefaultBranch, p.Pusher, p.Created, p.Deleted,
		p.Forced, Time(p.PushedAt), nonNil(p.CommitSHAs), nonNil(p.Messages), p.URL, Time(p.ReceivedAt)}
}

func (r pushRow) model() model.Push {
	return model.Push{Repo: r.Repo, Ref: r.Ref, Before: r.Before, After: r.After, DeliveryID: r.DeliveryID,
		DefaultBranch: r.DefaultBranch, Pusher: r.Pusher, Created: r.Created, Deleted: r.Deleted, Forced: r.Forced,
		PushedAt: r.PushedAt.T(), CommitSHAs: r.CommitSHAs, Messages: r.Messages, URL: r.URL, ReceivedAt: r.ReceivedAt.T()}
}

type protectionRow struct {
	Repo              string `json:"repo"`
	DeliveryID        string `json:"delivery_id"`
	Action            string `json:"action"`
	Sender            string `json:"sender"`
	RuleName          string `json:"rule_name"`
	ReviewEnforcement string `json:"review_enforcement"`
	RequiredApprovals int    `json:"required_approvals"`
	DismissStale      bool   `json:"dismiss_stale"`
	AdminEnforced     bool   `json:"admin_enforced"`
	OccurredAt        Time   `json:"occurred_at"`
	ReceivedAt        Time   `json:"received_at"`
}

func protectionToRow(p model.ProtectionEvent) protectionRow {
	return protectionRow{p.Repo, p.DeliveryID, p.Action, p.Sender, p.RuleName, p.ReviewEnforcement,
		p.RequiredApprovals, p.DismissStale, p.AdminEnforced, Time(p.OccurredAt), Time(p.ReceivedAt)}
}

func (r protectionRow) model() model.ProtectionEvent {
	return model.ProtectionEvent{Repo: r.Repo, DeliveryID: r.DeliveryID, Action: r.Action, Sender: r.Sender,
		RuleName: r.RuleName, ReviewEnforcement: r.ReviewEnforcement, RequiredApprovals: r.RequiredApprovals,
		DismissStale: r.DismissStale, AdminEnforced: r.AdminEnforced, OccurredAt: r.OccurredAt.T(), ReceivedAt: r.ReceivedAt.T()}
}

type findingRow struct {
	Rule        string `json:"rule"`
	Subject     string `json:"subject"`
	Outcome     string `json:"outcome"`
	Reason      string `json:"reason"`
	Repo        string `json:"repo"`
	OccurredAt  Time   `json:"occurred_at"`
	EvaluatedAt Time   `json:"evaluated_at"`
	Evidence    string `json:"evidence"`
	Waiver      string `json:"waiver"`
	// EvidenceKey names the evidence in finding_evidence when Evidence is
	// not inline (rows written before the key existed hold it inline).
	EvidenceKey string `json:"evidence_key"`
}

func (r findingRow) model() (model.Finding, error) {
	f := model.Finding{Rule: r.Rule, Subject: r.Subject, Outcome: model.Outcome(r.Outcome), Reason: r.Reason,
		Repo: r.Repo, OccurredAt: r.OccurredAt.T(), EvaluatedAt: r.EvaluatedAt.T()}
	if r.Evidence != "" {
		if err := json.Unmarshal([]byte(r.Evidence), &f.Evidence); err != nil {
			return f, err
		}
	}
	if r.Waiver != "" {
		f.Waiver = &model.Waiver{}
		if err := json.Unmarshal([]byte(r.Waiver), f.Waiver); err != nil {
			return f, err
		}
	}
	return f, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

type deployRow struct {
	Source      string `json:"source"`
	ID          string `json:"id"`
	Service     string `json:"service"`
	Environment string `json:"environment"`
	SHA         string `json:"sha"`
	Repo        string `json:"repo"`
	Status      string `json:"status"`
	Actor       string `json:"actor"`
	StartedAt   Time   `json:"started_at"`
	FinishedAt  Time   `json:"finished_at"`
	Pipeline    string `json:"pipeline"`
	URL         string `json:"url"`
	Version     string `json:"version"`
	ReceivedAt  Time   `json:"received_at"`
}

func deployToRow(d model.Deploy) deployRow {
	return deployRow{d.Source, d.ID, d.Service, d.Environment, d.SHA, d.Repo, d.Status, d.Actor, Time(d.StartedAt),
		Time(d.FinishedAt), d.Pipeline, d.URL, d.Version, Time(d.ReceivedAt)}
}

func (r deployRow) model() model.Deploy {
	return model.Deploy{ID: r.ID, Source: r.Source, Service: r.Service, Environment: r.Environment, SHA: r.SHA,
		Repo: r.Repo, Status: r.Status, Actor: r.Actor, StartedAt: r.StartedAt.T(), FinishedAt: r.FinishedAt.T(),
		Pipeline: r.Pipeline, URL: r.URL, Version: r.Version, ReceivedAt: r.ReceivedAt.T()}
}

type accessRow struct {
	System     string `json:"system"`
	ID         string `json:"id"`
	Time       Time   `json:"time"`
	Principal  string `json:"principal"`
	Action     string `json:"action"`
	Result     string `json:"result"`
	Role       string `json:"role"`
	Ticket     string `json:"ticket"`
	SourceIP   string `json:"source_ip"`
	Source     string `json:"source"`
	Format     string `json:"format"`
	Raw        string `json:"raw"`
	ReceivedAt Time   `json:"received_at"`
}

func accessToRow(e model.AccessEvent) accessRow {
	return accessRow{e.System, e.ID, Time(e.Time), e.Principal, e.Action, e.Result, e.Role, e.Ticket, e.SourceIP,
		e.Source, e.Format, e.Raw, Time(e.ReceivedAt)}
}

func (r accessRow) model() model.AccessEvent {
	return model.AccessEvent{ID: r.ID, System: r.System, Time: r.Time.T(), Principal: r.Principal, Action: r.Action,
		Result: r.Result, Role: r.Role, Ticket: r.Ticket, SourceIP: r.SourceIP, Source: r.Source, Format: r.Format,
		Raw: r.Raw, ReceivedAt: r.ReceivedAt.T()}
}
