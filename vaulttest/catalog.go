package vaulttest

import "slices"

// providerDef is one OAuth provider of the emulator's catalog (GET /sdk/oauth/provider-catalog).
type providerDef struct {
	id, name, category, about string
	scopes                    []string // in display order; a connect grants the first two
	text                      []string // each scope's description, in the order of scopes
	required                  []string // always asked for
	requires                  map[string][]string
	pkce, refresh             bool
}

// defaults are the scopes a connect asks for when none are named: the first two.
func (p *providerDef) defaults() []string { return p.scopes[:min(2, len(p.scopes))] }

var providerCatalog = []providerDef{
	{id: "github", name: "GitHub", category: "developer", about: "Repositories, issues and pull requests.",
		scopes: []string{"repo", "read:user", "user:email", "workflow", "read:org"},
		text: []string{"Full control of private repositories", "Read all user profile data", "Access user email addresses (read-only)",
			"Update GitHub Action workflows", "Read org and team membership"},
		requires: map[string][]string{"workflow": {"repo"}}, pkce: true},
	{id: "google", name: "Google", category: "productivity", about: "Gmail, Calendar and Drive.",
		scopes: []string{"gmail.readonly", "gmail.send", "calendar.readonly", "drive.readonly", "openid", "email"},
		text: []string{"View your email messages and settings", "Send email on your behalf", "See your calendars",
			"See your Google Drive files", "Associate you with your personal info on Google", "See your primary email address"},
		requires: map[string][]string{"email": {"openid"}}, pkce: true, refresh: true},
	{id: "slack", name: "Slack", category: "communication", about: "Messages and channels of a Slack workspace.",
		scopes:  []string{"chat:write", "channels:read", "users:read"},
		text:    []string{"Send messages as the app", "View basic information about public channels", "View people in the workspace"},
		refresh: true},
	{id: "notion", name: "Notion", category: "productivity", about: "Pages and databases of a Notion workspace.",
		scopes:   []string{"read_content", "update_content"},
		text:     []string{"Read pages and databases shared with the integration", "Update pages and databases"},
		requires: map[string][]string{"update_content": {"read_content"}}},
	{id: "microsoft", name: "Microsoft", category: "productivity", about: "Outlook mail and calendars (Microsoft Graph).",
		scopes:   []string{"User.Read", "Mail.Read", "Calendars.Read"},
		text:     []string{"Sign you in and read your profile", "Read your mail", "Read your calendars"},
		required: []string{"User.Read"}, pkce: true, refresh: true},
}

func findProvider(id string) *providerDef {
	for i := range providerCatalog {
		if providerCatalog[i].id == id {
			return &providerCatalog[i]
		}
	}
	return nil
}

// catalogJSON is the provider's catalog entry.
func (p *providerDef) catalogJSON() map[string]any {
	avail := make(map[string]any, len(p.scopes))
	for i, sc := range p.scopes {
		req := p.requires[sc]
		if req == nil {
			req = []string{}
		}
		avail[sc] = map[string]any{"description": p.text[i], "required": slices.Contains(p.required, sc),
			"is_default": slices.Contains(p.defaults(), sc), "requires": req}
	}
	required := p.required
	if required == nil {
		required = []string{}
	}
	return map[string]any{"id": p.id, "name": p.id, "display_name": p.name, "category": p.category,
		"description": p.about, "logo_url": "https://cdn.alterauth.com/providers/" + p.id + ".svg",
		"supports_refresh": p.refresh, "supports_pkce": p.pkce, "available_scopes": avail,
		"default_scopes": append([]string{}, p.defaults()...), "required_scopes": append([]string{}, required...),
		"status": "active"}
}
