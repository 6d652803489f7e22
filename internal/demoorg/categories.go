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
// controls.md and the identities in Expectations.Identities (alice-alt is
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
