package config

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// Validate reports every problem of c at once, joined with errors.Join,
// each starting with the dotted key it is about, e.g.
// "policy.min_approvals: must be at least 1, got 0". Secret values never
// appear in a message.
//
// Validate does not require secrets that only some commands use (the
// webhook secret, the GitHub token): the command that needs one checks it.
func (c Config) Validate() error {
	var p problems
	p.server(c.Server)
	p.github(c.GitHub)
	p.kafka(c.Kafka)
	p.clickhouse(c.ClickHouse)
	p.scope(c.Scope)
	p.policy(c.Policy)
	p.access(c.Access)
	p.identities(c.Identities)
	p.waivers(c.Waivers)
	p.alerts(c.Alerts)
	p.signing(c.Signing)
	p.secretStrength(c)
	return errors.Join(p...)
}

func (p *problems) signing(s Signing) {
	if s.KeyFile != "" && strings.TrimSpace(s.Identity) == "" {
		p.add("signing.identity", "empty: auditors need the principal to put in allowed_signers (default \"changeproof\")")
	}
	if strings.ContainsAny(s.Identity, " \t\n,\"") {
		p.add("signing.identity", "%q: must be one allowed_signers principal, without spaces, commas or quotes", s.Identity)
	}
}

type problems []error

func (p *problems) add(key, format string, args ...any) {
	*p = append(*p, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
}

func (p *problems) server(s Server) {
	if !isHostPort(s.Addr) {
		p.add("server.addr", `must be host:port such as ":8080", got %q`, s.Addr)
	}
	for _, d := range []struct {
		key string
		v   Duration
	}{{"server.read_timeout", s.ReadTimeout}, {"server.idle_timeout", s.IdleTimeout}, {"server.shutdown_timeout", s.ShutdownTimeout}} {
		if d.v <= 0 {
			p.add(d.key, "must be positive, got %s", d.v)
		}
	}
	if s.MaxHeaderBytes < 1024 {
		p.add("server.max_header_bytes", "must be at least 1024, got %d", s.MaxHeaderBytes)
	}
	if (s.TLSCertFile == "") != (s.TLSKeyFile == "") {
		p.add("server.tls_cert_file", "tls_cert_file and tls_key_file are set together (both: HTTPS; neither: HTTP)")
	}
	names := map[string]int{}
	secrets := map[string]int{}
	for i, t := range s.Tokens {
		key := fmt.Sprintf("server.tokens[%d]", i)
		switch first, dup := names[t.Name]; {
		case t.Name == "":
			p.add(key+".name", "empty")
		case dup:
			// Audit records identify a caller by this name alone.
			p.add(key+".name", "%q is already the name of server.tokens[%d]", t.Name, first)
		default:
			names[t.Name] = i
		}
		switch t.Role {
		case RoleIngest, RoleAuditor, RoleAdmin:
		default:
			p.add(key+".role", "must be ingest, auditor or admin, got %q", t.Role)
		}
		switch first, dup := secrets[t.Token]; {
		case t.Token == "":
			p.add(key+".token", "empty (set token or token_file)")
		case dup:
			// One secret with two roles would grant the larger one to both
			// holders, and the audit trail could not tell them apart.
			p.add(key+".token", "same value as server.tokens[%d].token", first)
		default:
			secrets[t.Token] = i
		}
	}
}

func (p *problems) github(g GitHub) {
	p.httpURL("github.base_url", g.BaseURL)
	if g.ReconcileEvery < 0 {
		p.add("github.reconcile_every", "must not be negative, got %s", g.ReconcileEvery)
	}
	for i, o := range g.Orgs {
		if o == "" {
			p.add(fmt.Sprintf("github.orgs[%d]", i), "empty")
		}
	}
	switch {
	case g.AppID < 0:
		p.add("github.app_id", "must be positive, got %d", g.AppID)
	case g.AppID == 0 && g.AppPrivateKeyFile != "":
		p.add("github.app_id", "required with github.app_private_key_file (the App ID on the App's settings page)")
	case g.AppID > 0 && g.AppPrivateKeyFile == "":
		p.add("github.app_private_key_file", "required with github.app_id (the .pem private key generated on the App's settings page)")
	}
	if g.App() && g.Token != "" {
		// Two identities would read GitHub and the evidence could not say
		// which one did; the App replaces the token.
		p.add("github.token", "set together with github.app_id; set only one (the GitHub App, or a token)")
	}
	for i, id := range g.AppInstallationIDs {
		if id <= 0 {
			p.add(fmt.Sprintf("github.app_installation_ids[%d]", i), "must be positive, got %d", id)
		}
	}
	if len(g.AppInstallationIDs) > 0 && !g.App() {
		p.add("github.app_installation_ids", "needs github.app_id")
	}
}

var topicChars = regexp.MustCompile(`^[A-Za-z0-9._-]*$`)

func (p *problems) kafka(k Kafka) {
	for i, b := range k.Brokers {
		if !isHostPort(b) {
			p.add(fmt.Sprintf("kafka.brokers[%d]", i), "must be host:port, got %q", b)
		}
	}
	if !topicChars.MatchString(k.TopicPrefix) {
		p.add("kafka.topic_prefix", `may contain only letters, digits, ".", "_" and "-", got %q`, k.TopicPrefix)
	}
	if k.Partitions < 1 {
		p.add("kafka.partitions", "must be at least 1, got %d", k.Partitions)
	}
	if k.ReplicationFactor < 1 {
		p.add("kafka.replication_factor", "must be at least 1, got %d", k.ReplicationFactor)
	}
	if len(k.Brokers) > 0 && k.Group == "" {
		p.add("kafka.group", "empty (required with kafka.brokers)")
	}
	switch k.SASL.Mechanism {
	case "":
		if k.SASL.Username != "" || k.SASL.Password != "" {
			p.add("kafka.sasl.mechanism", "empty, so kafka.sasl.username and password would be ignored")
		}
	case SASLPlain, SASLSCRAMSHA256, SASLSCRAMSHA512:
		if k.SASL.Username == "" {
			p.add("kafka.sasl.username", "empty (required with kafka.sasl.mechanism)")
		}
	default:
		p.add("kafka.sasl.mechanism", "must be PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (or empty for none), got %q", k.SASL.Mechanism)
	}
}

// identifier is what can be spliced into SQL unquoted.
var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func (p *problems) clickhouse(c ClickHouse) {
	if c.Addr != "" && !isHostPort(c.Addr) {
		p.add("clickhouse.addr", `must be host:port such as "localhost:9000", got %q`, c.Addr)
	}
	if !identifier.MatchString(c.Database) {
		p.add("clickhouse.database", "must be letters, digits and _, not starting with a digit, got %q", c.Database)
	}
	switch {
	case c.Cluster == "":
	case c.Addr == "":
		p.add("clickhouse.cluster", "needs clickhouse.addr (the embedded engine has no cluster)")
	case !topicChars.MatchString(c.Cluster):
		p.add("clickhouse.cluster", `may contain only letters, digits, ".", "_" and "-", got %q`, c.Cluster)
	}
}

func (p *problems) scope(s Scope) {
	p.globs("scope.repos", s.Repos)
	p.globs("scope.exclude_repos", s.ExcludeRepos)
	for i, e := range s.ProductionEnvironments {
		if e == "" {
			p.add(fmt.Sprintf("scope.production_environments[%d]", i), "empty")
		}
	}
	for _, name := range slices.Sorted(maps.Keys(s.Services)) {
		key := "scope.services." + name
		if len(s.Services[name].Repos) == 0 {
			p.add(key+".repos", "empty (list the repositories the service is built from)")
		}
		for i, r := range s.Services[name].Repos {
			if owner, repo, ok := strings.Cut(r, "/"); !ok || owner == "" || repo == "" || strings.Contains(repo, "/") {
				p.add(fmt.Sprintf("%s.repos[%d]", key, i), `must be "owner/name", got %q`, r)
			}
		}
	}
}

// globs checks repository patterns. A pattern must have exactly one "/":
// path.Match's "*" never crosses a "/", so any other pattern can match no
// "owner/name" and would leave repositories out of scope unnoticed.
func (p *problems) globs(key string, patterns []string) {
	for i, g := range patterns {
		k := fmt.Sprintf("%s[%d]", key, i)
		if _, err := path.Match(g, ""); err != nil {
			p.add(k, "bad glob pattern %q: %v", g, err)
		} else if strings.Count(g, "/") != 1 {
			p.add(k, `must match "owner/name", such as "acme/payments-*", got %q`, g)
		}
	}
}

// access checks each system's time zone and the glob patterns among its
// authorized principals.
func (p *problems) access(a Access) {
	names := make([]string, 0, len(a.Systems))
	for name := range a.Systems {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		s := a.Systems[name]
		if _, err := s.Location(); err != nil {
			p.add("access.systems."+name+".timezone", "%v", err)
		}
		for i, entry := range s.Authorized {
			if open := strings.LastIndexByte(entry, '['); open >= 0 && !strings.Contains(entry[open+1:], "]") {
				p.add(fmt.Sprintf("access.systems.%s.authorized[%d]", name, i), `unclosed "[" in pattern %q`, entry)
			}
		}
	}
}

func (p *problems) policy(pol Policy) {
	if pol.MinApprovals < 1 {
		p.add("policy.min_approvals", "must be at least 1, got %d", pol.MinApprovals)
	}
	if pol.EmergencyReviewWindow <= 0 {
		p.add("policy.emergency_review_window", "must be positive, got %s", pol.EmergencyReviewWindow)
	}
	if pol.TicketPattern == "" {
		p.add("policy.ticket_pattern", "empty (it would match every change)")
	} else if _, err := regexp.Compile(pol.TicketPattern); err != nil {
		p.add("policy.ticket_pattern", "invalid regular expression: %s", strings.TrimPrefix(err.Error(), "error parsing regexp: "))
	}
	switch pol.BotChanges {
	case BotChangesRequireApproval, BotChangesExempt:
	default:
		p.add("policy.bot_changes", "must be require_approval or exempt, got %q", pol.BotChanges)
	}
	if pol.BotMinApprovals < 0 {
		p.add("policy.bot_min_approvals", "must be 0 (= min_approvals) or more, got %d", pol.BotMinApprovals)
	}
	for i, a := range pol.AllowedBypassActors {
		typ, id, ok := strings.Cut(a, ":")
		if !ok || typ == "" || id == "" {
			p.add(fmt.Sprintf("policy.allowed_bypass_actors[%d]", i), `must be "actor_type:actor_id", such as "Integration:12345", got %q`, a)
		}
	}
	for i, c := range pol.RequiredChecks {
		if strings.TrimSpace(c) == "" {
			p.add(fmt.Sprintf("policy.required_checks[%d]", i), "empty check name")
		}
	}
}

// identities checks that the mapping from logins to people is a function:
// a login under two identities would make self-approval depend on which
// one the lookup happens to find. An identity's name resolves as a login
// too, so names take part.
func (p *problems) identities(ids []Identity) {
	owner := map[string]int{}
	claim := func(key, login string, i int) {
		l := strings.ToLower(login)
		if first, taken := owner[l]; taken && first != i {
			p.add(key, "%q already belongs to identities[%d] (%s)", login, first, ids[first].Name)
			return
		}
		owner[l] = i
	}
	for i, id := range ids {
		key := fmt.Sprintf("identities[%d]", i)
		if id.Name == "" {
			p.add(key+".name", "empty")
		} else {
			claim(key+".name", id.Name, i)
		}
		if len(id.Logins) == 0 {
			p.add(key+".logins", "empty (list at least one login)")
		}
		for j, l := range id.Logins {
			lk := fmt.Sprintf("%s.logins[%d]", key, j)
			if l == "" {
				p.add(lk, "empty")
				continue
			}
			claim(lk, l, i)
		}
	}
}

func (p *problems) waivers(ws []Waiver) {
	for i, w := range ws {
		key := fmt.Sprintf("waivers[%d]", i)
		for _, f := range []struct{ name, val string }{
			{"rule", w.Rule}, {"subject", w.Subject}, {"reason", w.Reason}, {"approved_by", w.ApprovedBy},
		} {
			if f.val == "" {
				p.add(key+"."+f.name, "empty")
			}
		}
		if w.Expires.IsZero() {
			// A waiver without an end would accept a failure forever.
			p.add(key+".expires", "empty (a date such as 2026-12-31, or an RFC 3339 time)")
		}
	}
}

func (p *problems) alerts(a Alerts) {
	if a.Grace < 0 {
		p.add("alerts.grace", "must not be negative, got %s", a.Grace)
	}
	if a.Digest < 0 {
		p.add("alerts.digest", "must not be negative, got %s", a.Digest)
	}
	p.httpURL("alerts.api_url", a.APIURL)
	s := a.Slack
	if s.WebhookURL != "" && s.Token != "" {
		p.add("alerts.slack", "set webhook_url or token, not both")
	}
	if s.Token != "" && s.Channel == "" {
		p.add("alerts.slack.channel", "empty (required with alerts.slack.token)")
	}
	if s.WebhookURL != "" && !isHTTPURL(s.WebhookURL) {
		p.add("alerts.slack.webhook_url", "must be an http(s) URL") // a secret: not echoed
	}
	p.httpURL("alerts.slack.base_url", s.BaseURL)
}

// httpURL checks an optional URL.
func (p *problems) httpURL(key, u string) {
	if u != "" && !isHTTPURL(u) {
		p.add(key, "must be an http(s) URL, got %q", u)
	}
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// isHostPort accepts what net.Listen and net.Dial accept, including an
// empty host (":8080", every interface).
func isHostPort(s string) bool {
	_, port, err := net.SplitHostPort(s)
	return err == nil && port != ""
}
