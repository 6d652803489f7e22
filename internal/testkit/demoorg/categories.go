package demoorg

// Categories name what the generator meant each subject to demonstrate. A
// subject is written as the controls spec writes it: "OWNER/REPO#N" for a
// pull request, "OWNER/REPO@SHA" for a push, "OWNER/REPO:protection@ID" for a
// branch protection change (ID is the delivery id).
//
// Every in-scope merged pull request is in exactly one of the primary PR
// categories (CatApproved through CatEmergencyPending). The remaining
// categories are either other kinds of subject or flags that overlap with a
// primary category. Expected outcomes assume the default policy of
// docs/controls.md and the identities in Expectations.Identities (alice-alt is
// alice).
const (
	// CatApproved: approved by a different person, not a bot, before the
	// merge, on the final head SHA. CM-1, CM-2 and CM-3 pass. Some also
	// carry an emergency label, some have extra comment reviews or a second
	// approval, see the flags below.
	CatApproved = "approved"
	// CatBotAuthored: opened by dependabot[bot] or renovate[bot], approved by
	// a person on the final head SHA and merged by them. CM-2 and CM-3 pass
	// (under either policy.bot_changes).
	CatBotAuthored = "bot_authored"
	// CatBotAuthoredUnreviewed: opened by a bot, merged by a person without
	// any review. CM-2 fails with bot_changes: require_approval (the
	// default); it is not_applicable with bot_changes: exempt.
	CatBotAuthoredUnreviewed = "bot_authored_unreviewed"
	// CatSelfApproved: the only approval is the author's own. CM-2 fails.
	CatSelfApproved = "self_approved"
	// CatSelfApprovedAlt: approved only by the author's other login
	// (alice's PR approved by alice-alt, or the reverse). CM-2 fails once
	// identities map alice-alt to alice; without that mapping it would pass.
	CatSelfApprovedAlt = "self_approved_alt"
	// CatBotApproved: a person's PR whose only approval comes from a bot
	// (dependabot[bot] or renovate[bot]). CM-2 fails.
	CatBotApproved = "bot_approved"
	// CatStaleApproval: approved on an earlier commit; the author pushed
	// again (a "synchronize" event) and the final head SHA was never
	// approved. CM-2 passes, CM-3 fails.
	CatStaleApproval = "stale_approval"
	// CatApprovalDismissed: the only approval was dismissed before the
	// merge (pull_request_review "dismissed" for the same review id). CM-2
	// fails.
	CatApprovalDismissed = "approval_dismissed"
	// CatChangesRequested: the reviewer approved, then requested changes
	// (their latest non-comment review), and the PR was merged anyway. CM-2
	// fails.
	CatChangesRequested = "changes_requested"
	// CatNoReview: merged with no review at all. CM-2 fails.
	CatNoReview = "no_review"
	// CatCommentedOnly: only "commented" reviews. CM-2 fails.
	CatCommentedOnly = "commented_only"
	// CatApprovedAfterMerge: no emergency label; the only approval was
	// submitted after merged_at. CM-2 fails.
	CatApprovedAfterMerge = "approved_after_merge"
	// CatEmergencyRetro: labelled hotfix or emergency (any case), no
	// approval before the merge, a retro approval by someone else within
	// 72h after merged_at. CM-2 passes; CM-3 does not apply (no pre-merge
	// approval) and has no expected outcome.
	CatEmergencyRetro = "emergency_retro"
	// CatEmergencyOverdue: labelled, merged more than 72h before Now, and no
	// qualifying retro review inside the window: none at all, one that came
	// after the window closed, or only the author's own. CM-2 fails.
	CatEmergencyOverdue = "emergency_overdue"
	// CatEmergencyPending: labelled, merged a few hours before Now, no review
	// yet. CM-2 is pending until merged_at+72h.
	CatEmergencyPending = "emergency_pending"

	// CatDirectPush: a push to an in-scope default branch that is not any
	// PR's merge (by a person, or by github-actions[bot] for a release
	// commit). CM-1 fails (not_applicable if the pusher is in
	// policy.direct_push_exempt). Subject OWNER/REPO@AFTER.
	CatDirectPush = "direct_push"
	// CatClosedUnmerged: PRs closed without merging (merged: false). Not
	// changes; no findings.
	CatClosedUnmerged = "closed_unmerged"
	// CatNotAChange: pushes that are not changes: branch creation, a push to
	// a feature branch, a branch deletion and a tag push. Listed as
	// "OWNER/REPO:REF@AFTER" (AFTER is 40 zeros for the deletion); no
	// findings.
	CatNotAChange = "not_a_change"
	// CatOutOfScope: every subject in the out-of-scope repository (PRs,
	// direct pushes, protection changes). No findings.
	CatOutOfScope = "out_of_scope"
	// CatProtectionOK: branch protection created with good settings
	// (reviews enforced for everyone, 1+ approvals, stale reviews
	// dismissed, admins included). CM-6 passes.
	CatProtectionOK = "protection_ok"
	// CatProtectionWeakened: protection edited to 0 required approvals and
	// no stale-review dismissal. CM-6 fails.
	CatProtectionWeakened = "protection_weakened"
	// CatProtectionDeleted: protection deleted. CM-6 fails.
	CatProtectionDeleted = "protection_deleted"
	// CatRulesetBypass: the ruleset protecting the default branch edited to
	// list a bypass actor (RepositoryRole:5) policy does not allow
	// (OWNER/REPO:ruleset/42@<delivery id>). CM-6 fails.
	CatRulesetBypass = "ruleset_bypass"

	// CatCoAuthoredApproval: approved by someone who pushed the final head
	// to the pull request before approving: a contributor, whose approval
	// does not count (policy.exclude_contributors). CM-2 fails.
	CatCoAuthoredApproval = "co_authored_approval"
	// CatBotTooFewApprovals: bot-authored, one human approval where
	// policy.bot_min_approvals (2 in the demo) wants two. CM-2 fails.
	CatBotTooFewApprovals = "bot_too_few_approvals"
	// CatCheckFailed (flag, PR subject): the required check (ci/test)
	// concluded failure on the final head before the merge; the result is
	// delivered after the merge event. CM-7 fails.
	CatCheckFailed = "check_failed"

	// CatPushBeforePR (flag, PR subject): the merge push is delivered before
	// the pull_request "closed" event. The PR must still pass and the push
	// must not end as a direct push.
	CatPushBeforePR = "push_before_pr"
	// CatWithdrawnDirectPush: the push of CatPushBeforePR as a subject
	// (OWNER/REPO@SHA). A consumer that judged it before the PR event
	// arrived must withdraw it: CM-1 not_applicable ("merge of ...").
	CatWithdrawnDirectPush = "withdrawn_direct_push"
	// CatReviewDeliveredLate (flag): the approval was submitted before the
	// merge but its delivery arrives after the "closed" event and the push.
	// Still CatApproved.
	CatReviewDeliveredLate = "review_delivered_late"
	// CatChangesRequestedThenApproved (flag): the reviewer first requested
	// changes, the author pushed, the same reviewer approved the final
	// commit. Passes: the latest non-comment review decides.
	CatChangesRequestedThenApproved = "changes_requested_then_approved"
	// CatApprovedThenCommented (flag): the approver later left a "commented"
	// review. Passes: comments do not supersede an approval.
	CatApprovedThenCommented = "approved_then_commented"
	// CatEmergencyLabelApproved (flag): labelled hotfix/emergency but
	// approved normally before the merge. Passes CM-2 and CM-3.
	CatEmergencyLabelApproved = "emergency_label_approved"
	// CatTicketLinked / CatTicketMissing: in-scope changes (merged PRs and
	// direct pushes) whose title, head branch or body (commit messages for
	// a push) do / do not match the default ticket pattern
	// [A-Z][A-Z0-9]+-[0-9]+. CM-4 pass / fail when policy.require_ticket is
	// true. Some ticket-less PRs have a lower-case key in the branch name
	// ("fix/pay-881-..."), which the default pattern does not match.
	CatTicketLinked  = "ticket_linked"
	CatTicketMissing = "ticket_missing"
)

// Operations categories (Options.Operations only). Deploy subjects are
// written SERVICE@ENVIRONMENT@ID, as CM-5's; those that are not CM-5
// subjects (staging, failed, in progress) are listed the same way. Access
// subjects are SYSTEM:ID. Counts are for the default size (300 PRs); where
// a range is given, it is what seeds 0-11 give (seed 0 in parentheses).
// Everything else is fixed by design for every seed and size (tested).
// Seed 0 has 126 deploys (82 deploy lines, 44 deployment_status deliveries),
// 70 of them CM-5 subjects, and 295 access events in scope (6 more out of
// scope), 25 of them in the formats of access_formats.go.
const (
	// CatWaived: the PR subject whose CM-2 fail the assumed waiver turns
	// into "waived" (the first CatSelfApproved subject). 1.
	CatWaived = "waived"

	// CatDeployFirst: each service's first successful production deploy.
	// It ships only the change whose push produced its SHA (first-deploy
	// watermark), never the history before it. 3.
	CatDeployFirst = "deploy_first"
	// CatDeployPassing: ships only changes that pass CM-1..CM-3 (no waived
	// one). CM-5 passes. At least 1 (the planned pair); 25-35 (25).
	CatDeployPassing = "deploy_passing"
	// CatDeployFailing: a known SHA that ships at least one change with a
	// CM-1, CM-2 or CM-3 fail. CM-5 fails; about half the deploys, since
	// each ships days of changes. 31-37 (36).
	CatDeployFailing = "deploy_failing"
	// CatDeployUnreviewed: the deploy planned to ship one unreviewed
	// (CatNoReview, else any CM-1/CM-2 fail) change alone. CM-5 fails. 1.
	CatDeployUnreviewed = "deploy_unreviewed"
	// CatDeployPending: ships the pending emergency change and nothing
	// failing. CM-5 pending. 1.
	CatDeployPending = "deploy_pending"
	// CatDeployWaived: ships the waived change (CatWaived). Its CM-5
	// outcome is that of the other changes it ships: the planned deploy
	// ships the waived change alone and passes. 1.
	CatDeployWaived = "deploy_waived"
	// CatDeployNoChanges: a successful production deploy of the SHA the
	// previous one deployed (nothing merged in between): ships nothing,
	// CM-5 passes. Only after quiet stretches: 2-6 (6).
	CatDeployNoChanges = "deploy_no_changes"
	// CatDeployUnknownSHA: payments-api's last production deploy, of a
	// commit that was only ever pushed to a feature branch (the
	// CatNotAChange branch). CM-5 fails; ships nothing. 1.
	CatDeployUnknownSHA = "deploy_unknown_sha"
	// CatDeployFailed: production deploys with status failure (one of
	// payments-api, one of the ledger, each retried). Not CM-5 subjects,
	// and never the "previous deploy". 2.
	CatDeployFailed = "deploy_failed"
	// CatDeployInProgress: payments-web's last deploy, status in_progress,
	// finished_at null. Not a CM-5 subject. 1.
	CatDeployInProgress = "deploy_in_progress"
	// CatDeployStaging: staging deploys (most production deploys follow
	// one by 20-90 minutes). Not CM-5 subjects. 48-57 (53).
	CatDeployStaging = "deploy_staging"
	// CatDeployWebhook: the ledger's deploys (every environment and
	// status), delivered as deployment_status webhooks rather than deploy
	// lines; ids gh-<deployment id>. 35-50 (44).
	CatDeployWebhook = "deploy_webhook"

	// CatAccessAuthorized: access by a principal whose person is in the
	// system's authorized list, without a break-glass role. AC-1 passes.
	// 277 (including the alias logins, mallory's, the failed attempts of
	// authorized people, and 20 of access_formats.go: CI role sessions
	// matched by a glob pattern among them).
	CatAccessAuthorized = "access_authorized"
	// CatAccessUnauthorized: access by a principal nobody authorized for
	// that system: grace on prod-db (2), ivan on prod-k8s (2: exec and a
	// secret, allowed by a too-broad RoleBinding), carol and a scanner's
	// "invalid user admin" on the bastion (2), and one failed sign-in in
	// each system of access_formats.go (ivan on aws, teleport and jump-eu,
	// eve on okta, erin on gcp: 5). AC-1 fails. 11.
	CatAccessUnauthorized = "access_unauthorized"
	// CatAccessAlias (flag): alice-alt, which identities map to alice, who
	// is authorized: AC-1 passes. 5 (prod-db 2, prod-k8s 1, bastion 2).
	CatAccessAlias = "access_alias"
	// CatAccessFailedAttempt (flag): result failure (a mistyped password,
	// a failed sshd password, the scanner). Still access events, judged by
	// who tried: AC-1 passes for an authorized person, fails for anyone
	// else. 2 on the bastion (bob, and the scanner's "invalid user admin",
	// also CatAccessUnauthorized) plus prod-db's mistyped passwords (4% of
	// its logins): 2-6 (5).
	CatAccessFailedAttempt = "access_failed_attempt"
	// CatBreakGlassTicket: break-glass role used with a ticket matching the
	// default ticket pattern (prod-db role breakglass-dba; prod-k8s group
	// break-glass, ticket in annotation changeproof.io/ticket). AC-2
	// passes; AC-1 is not_applicable. 2.
	CatBreakGlassTicket = "break_glass_ticket"
	// CatBreakGlassNoTicket: break-glass use without a ticket, or with a
	// justification that has no ticket key ("urgent, see #ops-incident").
	// AC-2 fails; AC-1 is not_applicable. 3.
	CatBreakGlassNoTicket = "break_glass_no_ticket"
	// CatTerminatedBefore / CatTerminatedAfter: subjects of mallory (access
	// events, the PR she authored and merged, her reviews) before / after
	// her terminated_at. AC-3 passes / fails. Before: 7 access events, 1
	// PR, 1 review (9); after: 3 access events (she kept her prod-db and
	// bastion accounts, and AC-1 still passes them), 1 review (a comment
	// on dave's PR) (4).
	CatTerminatedBefore = "terminated_before"
	CatTerminatedAfter  = "terminated_after"
	// CatAccessOutOfScope: events of staging-db, which is not in
	// access.systems. No findings. 6.
	CatAccessOutOfScope = "access_out_of_scope"
)
