package enrich

import (
	"encoding/json"
	"time"

	"github.com/changeproof/changeproof/internal/jsonscan"
)

// decode fills e from a delivery body. A GitHub payload is 5-30 KB of which
// the controls read a few hundred bytes, so the fields are read by
// jsonscan, which skips the rest without building it; a body jsonscan does
// not vouch for (invalid JSON, or JSON whose meaning encoding/json defines
// on its own terms) is decoded by encoding/json, so the result, and the
// error of a malformed body, are always encoding/json's.
func decode[T any](body []byte, e *T, fast func(*jsonscan.Reader, *T)) error {
	r := jsonscan.New(body)
	fast(r, e)
	r.End()
	if !r.Failed() {
		return nil
	}
	var zero T
	*e = zero
	return json.Unmarshal(body, e)
}

func readUser(r *jsonscan.Reader) *ghUser {
	var u ghUser
	if !r.Object(userKeys, func(int) { u.Login, _ = r.String() }) {
		return nil
	}
	return &u
}

var userKeys = []string{"login"}

var repoKeys = []string{"full_name", "default_branch", "pushed_at", "html_url"}

func readRepo(r *jsonscan.Reader) *ghRepo {
	var g ghRepo
	if !r.Object(repoKeys, func(k int) {
		switch k {
		case 0:
			g.FullName, _ = r.String()
		case 1:
			g.DefaultBranch, _ = r.String()
		case 2:
			g.PushedAt = r.Raw()
		case 3:
			g.HTMLURL, _ = r.String()
		}
	}) {
		return nil
	}
	return &g
}

var (
	prKeys = []string{"number", "state", "merged", "merged_at", "merge_commit_sha", "head", "base", "user",
		"merged_by", "title", "body", "html_url", "labels", "updated_at", "created_at"}
	headKeys = []string{"sha", "ref", "repo"}
	refKeys  = []string{"ref"}
	nameKeys = []string{"name"}
)

func readPR(r *jsonscan.Reader) *ghPR {
	var p ghPR
	if !r.Object(prKeys, func(k int) {
		switch k {
		case 0:
			p.Number = int(r.Int())
		case 1:
			p.State, _ = r.String()
		case 2:
			p.Merged = r.Bool()
		case 3:
			p.MergedAt = r.Time()
		case 4:
			p.MergeCommitSHA, _ = r.String()
		case 5:
			r.Object(headKeys, func(k int) {
				switch k {
				case 0:
					p.Head.SHA, _ = r.String()
				case 1:
					p.Head.Ref, _ = r.String()
				case 2:
					p.Head.Repo = readRepo(r)
				}
			})
		case 6:
			r.Object(refKeys, func(int) { p.Base.Ref, _ = r.String() })
		case 7:
			p.User = readUser(r)
		case 8:
			p.MergedBy = readUser(r)
		case 9:
			p.Title, _ = r.String()
		case 10:
			if s, ok := r.String(); ok {
				p.Body = &s
			}
		case 11:
			p.HTMLURL, _ = r.String()
		case 12:
			p.Labels = make([]struct {
				Name string `json:"name"`
			}, 0)
			if !r.Array(func() {
				var l struct {
					Name string `json:"name"`
				}
				r.Object(nameKeys, func(int) { l.Name, _ = r.String() })
				p.Labels = append(p.Labels, l)
			}) {
				p.Labels = nil
			}
		case 13:
			p.UpdatedAt = r.Time()
		case 14:
			p.CreatedAt = r.Time()
		}
	}) {
		return nil
	}
	return &p
}

var prEventKeys = []string{"action", "number", "pull_request", "repository", "sender", "after"}

func fastPREvent(r *jsonscan.Reader, e *prEvent) {
	r.Object(prEventKeys, func(k int) {
		switch k {
		case 0:
			e.Action, _ = r.String()
		case 1:
			e.Number = int(r.Int())
		case 2:
			e.PullRequest = readPR(r)
		case 3:
			e.Repository = readRepo(r)
		case 4:
			e.Sender = readUser(r)
		case 5:
			e.After, _ = r.String()
		}
	})
}

var (
	reviewEventKeys = []string{"action", "review", "pull_request", "repository"}
	reviewKeys      = []string{"id", "user", "state", "commit_id", "submitted_at", "html_url"}
)

func fastReviewEvent(r *jsonscan.Reader, e *reviewEvent) {
	r.Object(reviewEventKeys, func(k int) {
		switch k {
		case 0:
			e.Action, _ = r.String()
		case 1:
			rv := &ghReview{}
			if r.Object(reviewKeys, func(k int) {
				switch k {
				case 0:
					rv.ID = r.Int()
				case 1:
					rv.User = readUser(r)
				case 2:
					rv.State, _ = r.String()
				case 3:
					rv.CommitID, _ = r.String()
				case 4:
					rv.SubmittedAt = r.Time()
				case 5:
					rv.HTMLURL, _ = r.String()
				}
			}) {
				e.Review = rv
			}
		case 2:
			e.PullRequest = readPR(r)
		case 3:
			e.Repository = readRepo(r)
		}
	})
}

var (
	pushKeys = []string{"ref", "before", "after", "created", "deleted", "forced", "compare", "pusher", "sender",
		"repository", "head_commit", "commits"}
	headCommitKeys = []string{"id", "message", "timestamp"}
	commitKeys     = []string{"id", "message", "author", "committer"}
	usernameKeys   = []string{"username"}
)

func fastPushEvent(r *jsonscan.Reader, e *pushEvent) {
	r.Object(pushKeys, func(k int) {
		switch k {
		case 0:
			e.Ref, _ = r.String()
		case 1:
			e.Before, _ = r.String()
		case 2:
			e.After, _ = r.String()
		case 3:
			e.Created = r.Bool()
		case 4:
			e.Deleted = r.Bool()
		case 5:
			e.Forced = r.Bool()
		case 6:
			e.Compare, _ = r.String()
		case 7:
			p := &struct {
				Name string `json:"name"`
			}{}
			if r.Object(nameKeys, func(int) { p.Name, _ = r.String() }) {
				e.Pusher = p
			}
		case 8:
			e.Sender = readUser(r)
		case 9:
			e.Repository = readRepo(r)
		case 10:
			h := &struct {
				ID        string     `json:"id"`
				Message   string     `json:"message"`
				Timestamp *time.Time `json:"timestamp"`
			}{}
			if r.Object(headCommitKeys, func(k int) {
				switch k {
				case 0:
					h.ID, _ = r.String()
				case 1:
					h.Message, _ = r.String()
				case 2:
					h.Timestamp = r.Time()
				}
			}) {
				e.HeadCommit = h
			}
		case 11:
			e.Commits = make([]pushCommit, 0)
			if !r.Array(func() {
				var c pushCommit
				r.Object(commitKeys, func(k int) {
					switch k {
					case 0:
						c.ID, _ = r.String()
					case 1:
						c.Message, _ = r.String()
					case 2:
						c.Author = readGitIdentity(r)
					case 3:
						c.Committer = readGitIdentity(r)
					}
				})
				e.Commits = append(e.Commits, c)
			}) {
				e.Commits = nil
			}
		}
	})
}

func readGitIdentity(r *jsonscan.Reader) *gitIdentity {
	var g gitIdentity
	if !r.Object(usernameKeys, func(int) { g.Username, _ = r.String() }) {
		return nil
	}
	return &g
}
