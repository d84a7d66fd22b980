// Package facade is the Go SDK for Alter Vault: the credential and authorization layer for apps
// and AI agents that call third-party APIs. Provider credentials never reach application code:
// the SDK fetches a credential from the vault, injects it into the outgoing call, and the vault
// writes the audit trail.
//
// # Clients
//
// An [App] is a backend service authenticated with an App key; an [Agent] is a managed agent,
// authenticated with its own agent key ([NewAgent]) or with the App key and the agent's UUID
// ([App.GetAgent]). Both are safe for concurrent use, immutable after construction, and must be
// closed:
//
//	app, err := facade.NewApp(os.Getenv("ALTER_API_KEY"),
//		facade.WithCaller("email-research-bot"),
//		facade.WithUserTokenGetter(func(ctx context.Context) (string, error) { return jwt, nil }))
//	if err != nil { … }
//	defer app.Close()
//
// What the type system can forbid, it forbids: App has no Me, Agent has no agents namespace and
// cannot revoke grants. The identity rules it cannot express are checked before any network
// call, each with its own error (an Agent never sends an end-user token: [ErrAgentUserToken];
// GrantID and Provider are exclusive: [ErrGrantAndProvider]; …), all matching [ErrInvalidInput].
//
// # Calling APIs
//
// [App.Request] (retrieve mode) gets the credential and makes the upstream call with a separate
// HTTP client that never carries the vault key and drops the credential on cross-host
// redirects. [App.ProxyRequest] (proxy mode) lets the vault make the call, possibly after a
// human approval ([App.AwaitApproval]).
//
//	resp, err := app.Request(ctx, http.MethodGet, "https://api.github.com/repos/{owner}/{repo}",
//		facade.RequestParams{Provider: "github", PathParams: map[string]string{"owner": o, "repo": r}})
//
// # Headless connect, grants and agents
//
// [App.Connect] (and [Agent.Connect], for a grant bound to the agent) creates a Connect session,
// opens its page in the default browser (ConnectParams.NoBrowser or a failing opener prints the
// URL instead; ConnectParams.OpenURL replaces the opener) and polls until the person finishes.
// A denial, a misconfiguration or a timeout is a [*ConnectError] matching [ErrConnectDenied],
// [ErrConnectConfig] or [ErrConnectTimeout], all [ErrConnectFlow]. [App.Authenticate] signs an
// end user in the same way. A web backend that sends people to the connect page itself uses
// [App.CreateConnectSession] and [App.PollConnectSession] instead. [App.ListGrants] / [App.AllGrants] page through grants of both kinds;
// [App.Agents] administers managed agents and their keys. Plaintext keys and user tokens come back
// as [Secret], which never prints, logs or marshals its value:
//
//	res, err := app.Connect(ctx, facade.ConnectParams{Providers: []string{"github"}})
//	created, err := app.Agents().Create(ctx, facade.AgentCreateParams{Name: "email-bot"})
//	store(created.APIKey.Reveal())
//
// # Tracing
//
// [WithTrace] puts run, thread and tool-call ids on a context; every vault call made under it
// carries them into the audit log. Traces nest; inner non-empty fields win.
//
// # Errors
//
// Every failure is an error for errors.Is and errors.As: the Err… sentinels name the categories
// of the vault's error hierarchy ([ErrReAuthRequired] matches an expired, revoked or deleted
// grant…), [*APIError] carries code, message, HTTP status, request id and details, and
// [*PolicyViolationError], [*AmbiguousGrantError], [*ProviderAPIError],
// [*ScopeReauthRequiredError], [*NetworkError] and [*InputError] add their class fields. No error
// string contains an API key, a user token or a credential.
//
// # Retries
//
// Vault and upstream calls are retried per [RetryPolicy] with exponential backoff and full
// jitter, honouring Retry-After, only when it is safe; every vault POST carries an
// Idempotency-Key reused by its retries. [WithTimeout] bounds a whole call, retries included.
// Each call's attempts are reported in [RetryInfo].
//
// # Testing
//
// Package vaulttest is an in-memory vault: point WithBaseURL at vaulttest.NewTestServer(t).URL().
package facade
