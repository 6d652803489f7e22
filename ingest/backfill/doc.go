// Package backfill reads a repository's history from GitHub's GraphQL and
// REST APIs (REST through go-github) and turns it into the same canonical
// records that webhooks produce through enrich.ParseGitHub, so a change
// seen by webhook, by backfill or by both yields the same findings and no
// duplicate subjects.
//
// # GraphQL (the default)
//
// The merged pull requests come from one GraphQL query per page of 100
// (graphql.go: pullsQuery, validated against GitHub's schema by a test),
// each with its merger, labels, reviews, commits (Options.Contributors)
// and final head commit's check runs (Options.RequiredChecks), so per
// merged pull request nothing more is read, except over REST:
//
//	GET /repos/{o}/{r}/commits/{sha}/status   a final head that has commit
//	    statuses when a required check is not among its check runs
//	    (GraphQL's StatusContext has no REST id)
//	GET .../pulls/{n}/reviews, .../pulls/{n}/commits, .../commits/{sha}/check-runs
//	    only for a pull request with more than a query holds
//
// and per repository the REST requests below (the repository, the commit
// listing, protection, rulesets), but not the issue events nor GET
// /pulls/{n}. The endpoint is {base}/graphql (GitHub Enterprise Server:
// /api/graphql for a base of /api/v3). A server that answers 404 there is
// read over REST only, as with Options.RESTOnly. Records are the REST
// path's, field for field and id for id (tests compare both paths).
//
// GraphQL has no conditional requests: a finished pass keeps in its Cursor
// the newest update time of a merged pull request it read (HighWater) and
// the merges; the next pass, if it reads the same details from a Since not
// earlier, starts with a page of 10 and stops an hour before that mark, so
// an unchanged re-run costs one small query per repository besides 304s.
// Each GraphQL response (request and body) goes to a State that is also a
// ResponseLog, under a stable id.
//
// # REST (Options.RESTOnly, or no GraphQL endpoint)
//
// For every repository Run makes:
//
//	GET /repos/{o}/{r}                                    default branch
//	GET /repos/{o}/{r}/issues/events?per_page=100         who merged each PR
//	    (newest first, pages until a page ends before since)
//	GET /repos/{o}/{r}/pulls?state=closed&base=<default>&sort=updated&direction=desc&per_page=100
//	    (pages until an item's updated_at < since)
//	GET /repos/{o}/{r}/pulls/{n}/reviews?per_page=100     per merged PR
//	GET /repos/{o}/{r}/commits?sha=<default>&since=&per_page=100
//	GET /repos/{o}/{r}/branches?protected=true&per_page=100  (ETag: 304 when unchanged)
//	GET /repos/{o}/{r}/branches/<default>/protection      only when the default
//	    branch is among the protected ones (a 404 would carry no ETag)
//
//	GET /repos/{o}/{r}/pulls/{n}                          only for a merged PR
//	    the issue events did not name a merger for (Stats.MergerLookups)
//	GET /repos/{o}/{r}/rulesets?includes_parents=true     the default branch's
//	GET /repos/{o}/{r}/rulesets/{id}?includes_parents=true  active rulesets
//
// and, as policy needs them (Options.Contributors, Options.RequiredChecks):
//
//	GET /repos/{o}/{r}/pulls/{n}/commits                  per merged PR with an
//	    approval by someone other than its author (only then can a
//	    contributor's approval change a verdict)
//	GET /repos/{o}/{r}/commits/{sha}/check-runs           per merged PR's final head
//	GET /repos/{o}/{r}/commits/{sha}/status               only when a required
//	    check is not among the head's check runs
//
// so a first REST-only backfill costs about 1 + 1/100 + e/100 requests per merged PR
// (e: issue events per PR since, typically 4-10: closed, merged, labeled,
// review_requested, head_ref_deleted...) plus a handful per repository,
// and up to 2 more (commits, check runs) per merged PR with contributors
// and required checks on; a re-run with the same State costs only 304s,
// also when Since moved within the same UTC day (reconciliation): the
// commit listing asks from the start of Since's day.
//
// # Records
//
// Delivery ids are stable, so a re-run replaces its own rows
// (ReplacingMergeTree) instead of adding new ones, and every record that
// came from backfill is recognisable by the "backfill:" prefix of its
// DeliveryID, which findings carry as evidence:
//
//   - PullRequest: "backfill:<repo>#<n>", Action "closed", one per merged PR
//     (base = default branch, merged_at >= since). The store's
//     merged_pull_requests view keeps the earliest-received snapshot, so a
//     webhook snapshot received first stays authoritative.
//   - Review: "backfill:review:<id>". The API returns a review's current
//     state only: a dismissed review is one record with Action and State
//     "dismissed" (webhooks also keep the earlier "submitted approved"
//     event; controls treat both the same: the dismissal wins). Pending
//     reviews (no submitted_at) are skipped.
//   - Push: "backfill:push:<after sha>", one per movement of the default
//     branch on its first-parent chain, including PR merges, so the CM-5
//     chain is complete. The store's direct_pushes view keys on
//     (repo, after), so a webhook push and a backfill push of the same SHA
//     are one subject.
//   - Contribution: "backfill:<repo>#<n>" for the pull request's head and
//     created_at, "backfill:<repo>#<n>:<sha>" for each commit's author and
//     committer (bound to the pull request by number, whatever their time).
//   - CheckResult: "backfill:check_run:<id>", "backfill:status:<id>".
//   - RulesetEvent: "backfill:ruleset:<repo>:<id>:<hash of the state>",
//     Action "observed", recorded under the repository even when the
//     ruleset is its organisation's; an unchanged re-run yields the same id.
//   - ProtectionEvent: "backfill:protection:<repo>:<hash of the settings>",
//     Action "edited" (the resulting state is judged, like created/edited
//     webhooks); a branch without protection becomes enforcement "off" with
//     zero approvals. An unchanged re-run yields the same id, so no new CM-6
//     subject; a changed setting yields a new one.
//
// The changeproof command's State also appends every response it caches
// (every 200 with an ETag) to the hash-chained raw log, so the responses a
// record came from can be re-read and verified like webhook deliveries.
//
// # Fields the REST API does not give
//
//   - merged_by: the list endpoint omits it and GET /pulls/{n} would double
//     the cost per PR, so MergedBy is the actor of the PR's "merged" issue
//     event (read a page of 100 events at a time), and GET /pulls/{n} only
//     for a PR the events do not cover.
//   - merged: derived as merged_at != null.
//   - Push time: repository.pushed_at is not historical; PushedAt is the
//     committer date of the push's last commit (for PR merges made on
//     GitHub, the merge time).
//   - Push grouping: the API has commits, not pushes. Each first-parent
//     commit is one push, except that commits of a rebase merge (committer
//     "web-flow" with the merge commit's committer date) are grouped into the
//     merge's push, as the webhook does. A direct push of several commits
//     therefore shows up as several direct pushes (one subject per commit,
//     where the webhook has one for the last SHA); the last one has the
//     webhook's subject.
//   - Pusher: for a PR merged on GitHub its merger; otherwise the committer
//     login, or the author login when the committer is GitHub itself
//     ("web-flow") or unknown; webhooks name the pusher. The push URL is the
//     webhook's compare link (.../compare/<before:12>...<after:12>).
//   - Protection: the REST object has no history, sender or update time;
//     OccurredAt is the backfill time and Sender is empty.
//   - Commits from branches merged with a merge commit are not on the
//     first-parent chain and are not changes (as with webhooks).
//
// # Rate limits, conditional requests, resume
//
// All requests go through a RoundTripper (see transport.go) that caps
// concurrency, sends If-None-Match with the ETag stored in State and serves
// a 304 from the stored body, waits for X-RateLimit-Reset when the primary
// limit is exhausted, honours Retry-After for secondary limits, and retries
// 5xx with bounded backoff. The per-repository Cursor records finished
// pages and phases; Run resumes an interrupted run without fetching
// finished repositories or pages again, and starts a new pass (costing
// 304s) when the previous one had finished.
package backfill
