package vaulttest

import (
	"fmt"
	"io"
	"strings"

	"github.com/google/uuid"
)

// Demo is what SeedDemo created: everything an example or a person needs to connect.
type Demo struct {
	BaseURL     string    // the vault's base URL (the host root)
	AppKey      string    // an App key with every scope (alter_rk_…)
	Agent       Agent     // "demo-agent" and its key (alter_ak_…)
	User        User      // "alice" and her JWT
	UpstreamURL string    // the echo upstream
	GrantID     uuid.UUID // alice's GitHub grant (work account), delegated to demo-agent
	// alice's second GitHub account (not delegated): provider "github" with her token is ambiguous
	SecondGitHubGrantID uuid.UUID
	GoogleGrantID       uuid.UUID // alice's Google grant, delegated to demo-agent
	AgentGrantID        uuid.UUID // an OAuth grant owned by demo-agent itself
	ApprovalGrantID     uuid.UUID // a GitHub grant whose policy requires a human approval (proxy only)
	ManagedSecretID     uuid.UUID // the "stripe" managed secret
	ManagedSecretSlug   string    // "stripe", its provider_id in retrieve calls
	MSGrantID           uuid.UUID // the managed secret granted to demo-agent
	// An app grant on AWS credentials (provider "aws", region us-east-1, service s3) and the
	// stand-in for S3 that verifies their SigV4 signatures (NewSigV4Upstream).
	AWSGrantID     uuid.UUID
	AWSUpstreamURL string
}

// SeedDemo seeds s with the demo data of cmd/altervault-dev and the examples, with an echo
// upstream (NewEchoUpstream) that s.Close() stops; it keeps as many requests as s's request log
// (WithMaxRequests, WithLogBytes).
func SeedDemo(s *Server) Demo {
	up := NewEchoUpstream(s.echoLog())
	s.mu.Lock()
	s.closers = append(s.closers, up.Close)
	s.mu.Unlock()
	return SeedDemoWithUpstream(s, up.URL())
}

// echoLog bounds an echo upstream's log as s's request log is bounded.
func (s *Server) echoLog() EchoOption {
	return func(u *EchoUpstream) {
		WithEchoMaxRequests(s.cfg.maxRequests)(u)
		WithEchoLogBytes(s.cfg.logBytes)(u)
	}
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
	d.ManagedSecretSlug = "stripe"
	d.ManagedSecretID = s.AddManagedSecret(d.ManagedSecretSlug, "Stripe (test mode)", "sk_test_demo_"+randAlnum(16), HeaderInjection("X-API-Key"))
	d.MSGrantID = s.AddManagedSecretGrant(d.ManagedSecretSlug, d.Agent.ID)
	akid, secret := "AKIA"+strings.ToUpper(randAlnum(16)), randAlnum(40)
	aws := NewSigV4Upstream(akid, secret, s.echoLog())
	d.AWSUpstreamURL = aws.URL()
	d.AWSGrantID = s.AddOAuthGrant(OAuthGrant{Provider: "aws", Account: "demo-backups", Credential: akid,
		Injection: SigV4Injection(secret, "us-east-1", "s3", "")})
	s.mu.Lock()
	s.closers = append(s.closers, aws.Close)
	s.env = d.Env()
	s.mu.Unlock()
	return d
}

// envNames are the exports, in the order WriteEnv prints them.
var envNames = []string{"ALTER_BASE_URL", "ALTER_API_KEY", "AGENT_API_KEY", "AGENT_ID", "ALTER_USER_TOKEN",
	"ALTER_UPSTREAM_URL", "ALTER_GRANT_ID", "ALTER_SECOND_GITHUB_GRANT_ID", "ALTER_GOOGLE_GRANT_ID",
	"ALTER_AGENT_GRANT_ID", "ALTER_APPROVAL_GRANT_ID", "ALTER_MANAGED_SECRET_ID", "ALTER_MANAGED_SECRET_SLUG",
	"ALTER_MS_GRANT_ID", "ALTER_AWS_GRANT_ID", "ALTER_AWS_UPSTREAM_URL"}

// Env is the demo as environment variables (what GET /_dev/env serves).
func (d Demo) Env() map[string]string {
	return map[string]string{"ALTER_BASE_URL": d.BaseURL, "ALTER_API_KEY": d.AppKey, "AGENT_API_KEY": d.Agent.APIKey,
		"AGENT_ID": d.Agent.ID.String(), "ALTER_USER_TOKEN": d.User.Token, "ALTER_UPSTREAM_URL": d.UpstreamURL,
		"ALTER_GRANT_ID": d.GrantID.String(), "ALTER_SECOND_GITHUB_GRANT_ID": d.SecondGitHubGrantID.String(),
		"ALTER_GOOGLE_GRANT_ID": d.GoogleGrantID.String(), "ALTER_AGENT_GRANT_ID": d.AgentGrantID.String(),
		"ALTER_APPROVAL_GRANT_ID": d.ApprovalGrantID.String(), "ALTER_MANAGED_SECRET_ID": d.ManagedSecretID.String(),
		"ALTER_MANAGED_SECRET_SLUG": d.ManagedSecretSlug, "ALTER_MS_GRANT_ID": d.MSGrantID.String(),
		"ALTER_AWS_GRANT_ID": d.AWSGrantID.String(), "ALTER_AWS_UPSTREAM_URL": d.AWSUpstreamURL}
}

// WriteEnv writes the demo as shell exports, one per line.
func (d Demo) WriteEnv(w io.Writer) error {
	env := d.Env()
	for _, n := range envNames {
		if _, err := fmt.Fprintf(w, "export %s=%s\n", n, env[n]); err != nil {
			return err
		}
	}
	return nil
}
