package vaulttest

import (
	"fmt"
	"io"

	"github.com/google/uuid"
)

// Demo is what SeedDemo created: everything an example or a person needs to connect.
type Demo struct {
	BaseURL     string    // the vault's API base URL (…/v1)
	AppKey      string    // an App key with every scope
	Agent       Agent     // "demo-agent" and its key
	User        User      // "alice" and her JWT
	UpstreamURL string    // the echo upstream
	GrantID     uuid.UUID // alice's GitHub grant (work account), delegated to demo-agent
	// alice's second GitHub account (not delegated): provider "github" without account is ambiguous
	SecondGitHubGrantID uuid.UUID
	GoogleGrantID       uuid.UUID // alice's Google grant (custom header injection)
	AgentGrantID        uuid.UUID // an OAuth grant owned by demo-agent itself
	ApprovalGrantID     uuid.UUID // a GitHub grant whose policy requires a human approval (proxy only)
	ManagedSecretID     string    // "ms_stripe"
	MSGrantID           uuid.UUID // the managed secret granted to demo-agent
}

// SeedDemo seeds s with the demo data of cmd/altervault-dev and the examples, with an echo
// upstream (NewEchoUpstream) that s.Close() stops.
func SeedDemo(s *Server) Demo {
	up := NewEchoUpstream()
	s.mu.Lock()
	s.closers = append(s.closers, up.Close)
	s.mu.Unlock()
	return SeedDemoWithUpstream(s, up.URL())
}

// SeedDemoWithUpstream is SeedDemo with the upstream at upstreamURL.
func SeedDemoWithUpstream(s *Server, upstreamURL string) Demo {
	d := Demo{BaseURL: s.URL(), AppKey: s.AppKey(), UpstreamURL: upstreamURL}
	d.Agent = s.AddAgent("demo-agent", AgentScopes(map[string][]string{"github": {"repo", "read:user"}, "google": {"gmail.readonly"}}))
	d.User = s.AddUser("alice")
	d.GrantID = s.AddOAuthGrant(OAuthGrant{Provider: "github", Account: "alice@work.example", UserSub: "alice",
		Scopes: []string{"repo", "read:user"}, DelegatedTo: []uuid.UUID{d.Agent.ID}})
	d.SecondGitHubGrantID = s.AddOAuthGrant(OAuthGrant{Provider: "github", Account: "alice@home.example", UserSub: "alice",
		Scopes: []string{"read:user"}})
	d.GoogleGrantID = s.AddOAuthGrant(OAuthGrant{Provider: "google", Account: "alice@gmail.example", UserSub: "alice",
		Scopes: []string{"gmail.readonly"}, DelegatedTo: []uuid.UUID{d.Agent.ID}})
	d.AgentGrantID = s.AddOAuthGrant(OAuthGrant{Provider: "slack", Account: "demo-bot", AgentOwner: d.Agent.ID,
		Scopes: []string{"chat:write"}})
	d.ApprovalGrantID = s.AddOAuthGrant(OAuthGrant{Provider: "github", Account: "ops@work.example", UserSub: "ops",
		Scopes: []string{"repo"}, DelegatedTo: []uuid.UUID{d.Agent.ID}})
	s.SetGrantPolicy(d.ApprovalGrantID, Policy{RequireApproval: true})
	d.ManagedSecretID = "ms_stripe"
	s.AddManagedSecret(d.ManagedSecretID, "Stripe (test mode)", "sk_test_demo_"+randAlnum(16), HeaderInjection("X-API-Key"))
	d.MSGrantID = s.AddManagedSecretGrant(d.ManagedSecretID, d.Agent.ID)
	return d
}

// WriteEnv writes the demo as shell exports, one per line.
func (d Demo) WriteEnv(w io.Writer) error {
	_, err := fmt.Fprintf(w, `export ALTER_BASE_URL=%s
export ALTER_API_KEY=%s
export AGENT_API_KEY=%s
export AGENT_ID=%s
export ALTER_USER_TOKEN=%s
export ALTER_UPSTREAM_URL=%s
export ALTER_GRANT_ID=%s
export ALTER_SECOND_GITHUB_GRANT_ID=%s
export ALTER_GOOGLE_GRANT_ID=%s
export ALTER_AGENT_GRANT_ID=%s
export ALTER_APPROVAL_GRANT_ID=%s
export ALTER_MANAGED_SECRET_ID=%s
export ALTER_MS_GRANT_ID=%s
`, d.BaseURL, d.AppKey, d.Agent.APIKey, d.Agent.ID, d.User.Token, d.UpstreamURL, d.GrantID, d.SecondGitHubGrantID,
		d.GoogleGrantID, d.AgentGrantID, d.ApprovalGrantID, d.ManagedSecretID, d.MSGrantID)
	return err
}
