package control

import "github.com/changeproof/changeproof/config"

// PolicyOf compiles the configuration's policy section into the Policy the
// controls read. It is the one conversion: DefaultPolicy is PolicyOf of
// the configuration's defaults, so a default is written once, in
// config.Default, and the configuration reference documents it from there.
// p must have passed config validation (its ticket pattern compiles).
func PolicyOf(p config.Policy) Policy {
	return Policy{
		MinApprovals:                 p.MinApprovals,
		RequireApprovalOnFinalCommit: p.RequireApprovalOnFinalCommit,
		EmergencyLabels:              p.EmergencyLabels,
		EmergencyReviewWindow:        p.EmergencyReviewWindow.Std(),
		RequireTicket:                p.RequireTicket,
		TicketPattern:                p.TicketRegexp(),
		Bots:                         p.Bots,
		BotChanges:                   p.BotChanges,
		DirectPushExempt:             p.DirectPushExempt,
		RequireAdminEnforcement:      p.RequireAdminEnforcement,
		ExcludeContributors:          p.ExcludeContributors,
		BotMinApprovals:              p.BotMinApprovals,
		AllowedBypassActors:          p.AllowedBypassActors,
		RequiredChecks:               p.RequiredChecks,
		ChecksAllowNeutral:           p.ChecksAllowNeutral,
	}
}
