// Package facade is the Go SDK for Alter Vault: the credential and authorization layer for apps
// and AI agents that call third-party APIs. Provider credentials never reach application code:
// the SDK fetches a credential from the vault, injects it into the outgoing call, and the vault
// writes the audit trail. It speaks the vault's wire as the official Python SDK (alter-sdk
// 0.29.0) does: every call under /sdk/, the x-api-key header plus an HMAC signature, the
// X-Alter-* identity headers, the end user's token in the JSON body.
//
// # Clients
//
// An [App] is a backend service authenticated with an App key; an [Agent] is a managed agent,
// authenticated with its own agent key ([NewAgent]) or with the App key and the agent's UUID
// ([App.GetAgent]). The key's format is checked offline by the constructors. Both are safe for
// concurrent use, immutable after construction, and must be closed:
//
//	app, err := facade.NewApp(os.Getenv("ALTER_API_KEY"),
//		facade.WithCaller("email-research-bot"),
//		facade.WithUserTokenGetter(func(ctx context.Context) (string, error) { return jwt, nil }))
//	if err != nil { … }
//	defer app.Close()
//
// The vault URL is WithBaseURL, else ALTER_BASE_URL, else [DefaultBaseURL]. Every call is
// bounded by one deadline, [WithTimeout] (default 30 s), retries included.
//
// # Calling APIs
//
// [App.Request] (retrieve mode) gets the credential and makes the provider call with a separate
// HTTP client that never carries the vault key and never follows a redirect (a 3xx is returned
// as the answer). [App.ProxyRequest] (proxy mode) lets the vault make the call, possibly after
// a human approval ([App.AwaitApproval]). An Agent may pass a per-call UserToken to choose among
// the users who delegated to it.
//
//	resp, err := app.Request(ctx, http.MethodGet, "https://api.github.com/repos/{owner}/{repo}",
//		facade.RequestParams{Provider: "github", PathParams: map[string]string{"owner": o, "repo": r}})
//
// # Headless connect, grants and agents
//
// [App.Connect] (and [Agent.Connect]) creates a Connect session, opens its page in the default
// browser (ConnectParams.NoBrowser or a failing opener prints the URL instead) and polls until
// the person finishes. A web backend that sends people to the page itself uses
// CreateConnectSession (every option of alter-sdk 0.29.0: an agent to delegate to, onward
// sharing, scope constraints, a labelled or restricted grant, direct, switch account, an
// in-place repair) and PollConnectSession, which blocks and reports declined providers as
// ConnectEvents. CreateManagedSecretConnectSession asks a user for their own key of a managed
// secret, or to approve one they hold. [App.Authenticate] signs an end user in the same way;
// CreateAuthSession and PollAuthSession are its two halves, and [App.ForUser] acts for the
// signed-in user.
//
// # When the user must act
//
// A missing grant or delegation, an expired or revoked credential, missing scopes, and a call
// held for approval all end in one thing: a person has to open a page. [App.UserActionFor]
// turns the failed call's error into a [UserAction] (a Connect session, or an in-place repair),
// [App.UserActionForApproval] does the same for a held call; the action carries the URL, its
// expiry and the reason, marshals to JSON for later ([App.ResumeUserAction]), and Wait blocks
// until the person acted and returns the grant to retry with, or the approved call's answer.
// ConnectSessionForError is the session alone.
//
// ListGrants / AllGrants page through grants of both kinds, with their delegation chains;
// [Agent.Delegate] passes a held grant on to another agent, [App.MintGrant] makes a labelled
// sibling on a grant's credential; [App.Agents] administers
// managed agents and their keys. Plaintext keys and user tokens come back as [Secret], which
// never prints, logs or marshals its value.
//
// # Attenuation
//
// [App.WithConstraints] and [Agent.WithConstraints] derive a client that can only do less: its
// every vault call carries the narrowed scopes and a one-off rule ([RequestRule]; a checked
// content_match rule from [ContentMatchRule]), signed into the request and enforced by the vault
// (the rule on Request and ProxyRequest). It shares its parent's connections; closing the parent
// closes it.
//
// # Identity and memory isolation
//
// ResolveIdentity returns the [IdentityContext] Alter resolves for a call; AssertIdentity mints
// a short-lived ES256 [IdentityAssertion] of it for one audience, which the receiving service
// verifies offline with package github.com/altersdk/alter-go/identity. Only a context the SDK
// obtained or verified derives a private memory partition ([IdentityContext.MemoryScope]);
// [NewScopedStore] confines a [NamespaceStore] to it. Refusals are [*MemoryIsolationError].
//
// # Catalogs, keys, provider specs and spans
//
// On an App or an Agent: ListProviders returns the OAuth provider catalog (cached for
// [ProviderCatalogTTL] per client; [ForceRefresh] asks again), ListScopes the scope catalog,
// Keys the scoped API keys (derive, rotate, revoke), ProviderSpecs the provider API specs (which
// operations a provider has, with their JSON Schemas) and EmitSpans sends the caller's own spans
// to the vault's trace view. The 71 OAuth provider ids of alter-sdk 0.29.0 are untyped string
// constants ([ProviderGitHub], …) and [IsValidKey] checks a key's format offline.
//
// # Tracing
//
// [WithTrace] puts run, thread and tool-call ids on a context; every vault call made under it
// carries them in X-Alter-Context, and the vault copies them into the audit rows.
// [WithAuditContext] adds free-form keys the same way, and [Agent.Trace] opens an agent's scope
// (its identity, its parent agent, the run and metadata). A per-call Context replaces the ctx's
// audit context for that call. The OpenTelemetry span on the ctx, when valid, rides on every
// vault call as its W3C traceparent (through the OpenTelemetry API alone); the module
// github.com/altersdk/alter-go/alterotel exports the spans themselves through EmitSpans.
//
// # Errors
//
// Every failure is an error for errors.Is and errors.As: the Err… sentinels follow alter-sdk's
// exception classes, every SDK error matching [ErrAlter] ([ErrReAuthRequired] matches an
// expired, revoked or deleted grant…), [*APIError]
// carries the code, message, status and request id, and the typed errors add their class
// fields. Every timeout matches [ErrTimeout] and context.DeadlineExceeded. No error string
// contains an API key, a user token or a credential.
//
// # Retries
//
// Only what is safe to repeat is retried ([RetryPolicy]): reads and the credential fetch, after
// a transport failure, a 429 or a 502/503/504, honouring Retry-After, each try signed afresh;
// never the proxied call, the audit record or a call with side effects (EmitSpans only when
// every span has its own id, which the vault absorbs when repeated). [RetryInfo] is the
// vault's own report on refreshing a credential.
//
// # Testing
//
// Package vaulttest is an in-memory vault: point WithBaseURL at vaulttest.NewTestServer(t).URL().
package facade
