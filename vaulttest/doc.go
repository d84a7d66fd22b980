// Package vaulttest is an in-memory Alter Vault for tests, examples and offline development, in
// the spirit of net/http/httptest: NewServer starts, on a loopback port, a vault that speaks the
// real wire of the official alter-sdk 0.29.0 (openapi.yaml at the root of this module) at the
// host root: every API path starts with /sdk/.
//
// It implements the server side in memory: App and agent keys in the real formats (App keys
// alter_rk_…, agent keys alter_ak_…, derived keys alter_dk_…, legacy alter_key_… on request)
// with their lifecycle, HMAC request signing in both forms (legacy, and V2 when identity headers
// are present), the identity rules the SDK leaves to the server, end users with JWTs the
// emulator signs, OAuth and managed-secret grants and their delegations, policies, approvals,
// connect and sign-in sessions (with small HTML pages a person, a headless browser or a program
// posting the form can complete), idempotent agent creation, and audit rows.
//
// Every request and every response is checked against openapi.yaml with kin-openapi unless
// WithoutContractValidation is given: a request that breaks the spec is answered 422 with a
// FastAPI-style {"detail": [{"type","loc","msg","input"}]} list; an answer of the emulator that
// breaks it is recorded (Violations), replaced by a 500, and fails NewTestServer's test at
// cleanup. Faults (statuses and codes, Retry-After, delays, dropped connections, non-JSON or
// malformed answers, panics, bad answers) can be injected per operation, NewEchoUpstream
// gives tests a local upstream API, and NewSigV4Upstream one standing in for an AWS service,
// which verifies each request's SigV4 signature (SigV4Injection seeds a grant on AWS credentials).
//
// Tests seed the vault directly through Go methods (AddAgent, AddUser, AddOAuthGrant, …), which
// need no network call and are safe for concurrent use. SeedDemo seeds the demo data used by
// cmd/altervault-dev and the examples.
//
// # Authentication
//
// Every /sdk/ call needs x-api-key and the signature headers. In order: an unknown key is 401
// invalid_key; a missing or malformed signature header, a body whose SHA-256 differs from
// X-Alter-Content-SHA256 or a signature that does not match is 401 invalid_signature; a
// timestamp outside the window is 401 request_expired; a nonce seen before is 401
// nonce_replayed; then the key's state: revoked 401 key_revoked, expired 401 key_expired, a
// rotated key after its overlap 401 key_rotated_grace_expired; a deprecated key works and its
// answers carry X-Alter-Key-Deprecated: true. The signature window is ±300 s
// (WithSignatureWindow). Nonces are remembered per key, for the window, in a replay cache of at
// most 100 000 entries per key (WithReplayCapacity) that forgets its oldest nonce first; one key
// flooding the vault never evicts another key's nonces.
//
// # Identity (transport.md §9)
//
// An agent key acts as its agent; an X-Alter-Caller holding another agent's UUID is 400
// caller_agent_mismatch; a paused agent gets 401 agent_inactive (except on GET /sdk/agents/me)
// and a revoked one 401 agent_revoked. An App key with X-Alter-Caller set to an agent's UUID
// (caller type agent or absent) impersonates that agent (404 caller_agent_unresolved when no
// agent has it); any other caller is a label of the app. X-Alter-Actor-ID is answered on every
// authenticated call: the agent's id for an agent key, a stable UUID per (caller type, caller)
// for an App key with a caller, the app's actor id without one, and none for an impersonated
// agent (the real vault registers no actor there). An agent reaches a user's grant only through
// its own delegation (or a grant it owns); a user token or app_user_id only chooses among the
// grants the caller already reaches. Provider-mode resolution answers 404 grant_not_found (app)
// or 404 no_delegated_grant (agent) when nothing matches and 409 ambiguous_grant with the
// candidates when several do; without a user, the app resolves among its own (system) grants. A
// bad user JWT is 401 jwt_validation_error.
//
// # Attenuation (with_constraints)
//
// Both attenuation headers are signed fields (a stripped or altered one is 401
// invalid_signature). X-Alter-Scope-Constraints narrows the key's scopes for the call: its atoms
// (split on ",", trimmed) must all be held by the key (400 constraint_not_narrowing otherwise,
// and for an empty atom or "*"), and an operation the narrowed set does not cover is 403
// insufficient_scope. X-Alter-Request-Rule is read on every call: a value over 4096 bytes, not
// base64url JSON {rule_type, rule_body}, or a content_match body that breaks the authoring limits
// (the ones alter-sdk's content_match_rule checks) is 400 on any call, management calls included.
// The rule is applied on the credential calls only (POST /sdk/token and /sdk/proxy):
//
//   - json_match with effect deny refuses the call (403, no code) when its "when" method matches;
//     other rule types are accepted without evaluation.
//   - content_match matches an operation id or a family. The real vault classifies a request
//     against its attested provider specs; the emulator's model is simpler: the operation id is
//     "<method>:<URL path>" ("post:/gmail/v1/users/me/messages/send"; the provider specs'
//     operation ids have the same form), and the family is delete for DELETE, read for GET, HEAD
//     and OPTIONS, else payment, admin or send when a path segment is payments/charges/invoices,
//     admin or send, else write. A call without a method or URL is refused (fail closed).
//   - Parameter conditions (ANDed) read the top-level members of a proxied JSON object body and
//     the URL's query; a token call never shows its body to the vault, so a rule with conditions
//     refuses a matching token call. Strings compare trimmed and case-insensitively; patterns
//     support * and ? only; numeric operators need a JSON number; outside_windows reads
//     {"start","end"} (RFC 3339) and fires unless the range lies wholly inside the windows in the
//     rule's zone (back-to-back windows join; a "recurrence" member, a malformed range or one
//     longer than 31 days is outside).
//   - Effects: deny is 403 (no code, a PolicyViolationError to alter-sdk); step_up is 403
//     step_up_required with max_session_age_seconds unless the call carries a user token the
//     emulator issued less than that long ago (its iat is the sign-in); redact removes the named
//     top-level members from a proxied JSON object body before it is forwarded (and audited), and
//     is 403 redact_discharge_failed for any other body and for a token call.
//   - A proxied call held for approval keeps the redacted body; the emulator does not re-apply
//     the rule when the approved call runs.
//
// # Identity assertions
//
// POST /sdk/identity/assert answers a compact ES256 JWS signed with a key of this server's own
// (a new one per server): header typ alter-identity+jwt and kid (the key's RFC 7638
// thumbprint); claims iss (the server's URL, IdentityIssuer), aud, sub (alter:user:<app user
// id>, or alter:app:<app id> without a user), azp (the app id), iat, exp (default 120 s), jti,
// alter {app_id, group_ids, trace when set, agent_auth for an agent: api_key, or app_key_caller
// for an App key acting as an agent}, act {sub: alter:agent:<id>} for an agent, and email/name
// with include_profile. IdentityJWKS, IdentityTrust and GET /_dev/identity give a verifier its
// trusted keys. A user token or an app_user_id names the user; an app_user_id is for agent
// callers (400 otherwise) and needs a grant the user delegated to the agent (404 otherwise).
//
// # Scopes and limits
//
// Every operation needs one Alter scope (ListScopes serves the catalog, GET /sdk/scopes needs
// none); App keys hold all of them unless seeded with KeyScopes, agent keys the runtime ones.
// Every answer carries X-Request-ID and, on /sdk/, X-RateLimit-Limit/-Remaining/-Reset and the
// RateLimit-Policy / RateLimit pair for a
// per-key one-minute window (WithRateLimit, default 100 000 requests; over it 429
// rate_limit_exceeded with Retry-After).
//
// # Catalogs, provider specs and spans
//
// GET /sdk/scopes lists the scope catalog the keys are checked against. GET
// /sdk/oauth/provider-catalog lists five connectable providers (github, google, slack, notion,
// microsoft) with their scopes, descriptions, prerequisites, default scopes (the two a connect
// grants) and required scopes (User.Read for microsoft). The provider spec store holds the active
// specs of oauth/github, oauth/google, oauth/slack, managed/stripe and managed/resend, with
// operations named as their upstream documents name them (repos/get, gmail.users.messages.send,
// chat.postMessage, PostCustomers) or, without ids, "<method>:<path>" (post:/emails), each with
// its parameter, request and response JSON Schemas; operations are listed by id, searched
// case-insensitively in id, path and summary, paged with limit (1–500, default 100) and offset.
// A provider without an active spec (notion, microsoft, any other) is 404
// provider_spec_not_found, an unknown operation 404 operation_not_found, a kind other than oauth
// and managed 422. POST /sdk/spans stores 1–50 spans (each field as the spec bounds it; a
// missing span id gets one of 16 hex digits) and counts only new ones: a (trace_id, span_id)
// pair already stored is absorbed, so a retried batch is idempotent. Spans returns them, as does
// GET /_dev/spans.
//
// # Bounded state
//
// Nothing grows per request without bound, so a program can be load-tested against the emulator:
// the request log keeps the newest 10 000 entries (WithMaxRequests), an echo upstream the newest
// 10 000 requests (WithEchoMaxRequests; SeedDemo's upstreams take the server's bounds), the audit
// log the newest 10 000 rows (WithMaxAuditRows), each of these three logs at most about 64 MiB of
// bodies, headers and URLs, its newest entry always whole (WithLogBytes, WithEchoLogBytes), the
// span store the newest 10 000 spans (a dropped span's id may be stored again), each key's nonce
// memory at most 100 000 nonces (WithReplayCapacity; about 80 bytes each, none of them scanned by
// the garbage collector) for the signature window, sessions, approvals and Idempotency-Key
// entries the newest 10 000 each, Violations the newest 1000, and the grants the API mints,
// delegates onward or grants on a managed secret stop at 10 000 grants in all (402
// grant_limit_exceeded). Lookups are by map and evictions take the oldest entry, so a call costs
// the same after any number of calls: bench's TestEmulatorCost measures cmd/altervault-dev over
// 100 000 calls. What seeding or the API creates on purpose (keys, agents, users) is kept as long
// as the server runs.
//
// # Grants and delegation
//
// A first-hop delegation (a connect session with an agent, Delegate) lets the agent use the
// user's grant itself, at depth 1. An onward delegation (POST /sdk/grants/{id}/delegate, agent
// keys only) is a grant of its own for the receiving agent, one hop deeper, on the same
// credential: refused with 403 grant_not_delegable and a detail_reason when the held grant has
// no consenting user (no_consenting_user: a grant owned by the agent itself), was not delegated as
// delegable (holder_not_delegable), its provider's ceiling is off (ceiling_off,
// SetOnwardDelegation) or delegable: true would leave no hop under the depth ceiling of 3
// (no_onward_hop); 404 agent_not_found for an unknown or inactive agent; 409 when that agent
// already holds it; 422 invalid_scope_constraint for a scope outside the held grant's effective
// scopes (any scope on a managed secret). A narrowed grant is proxy only (400
// delegated_grant_requires_proxy on /sdk/token); its expiry is the shortest of ttl_seconds and
// the holder's. Revoking a grant or dropping a delegation revokes everything delegated onward
// from it. POST /sdk/grants/{id}/mint (App keys; agents 403 agents_cannot_mint) copies an
// active grant's principal, credential and policy under a new label unique per credential (409
// sibling_label_conflict), with tags and a policy that only tightens (expires_at,
// max_ttl_seconds, restrictions, requires_approval; any other key 422 invalid_grant_policy); a
// grant with restrictions is proxy only (400 restricted_grant_requires_proxy on /sdk/token), and
// a source with restrictions is 403 mint_source_has_grant_rules. A managed secret may hold several
// developer credentials (AddManagedSecretCredential): a grant on it then needs credential_id
// (409 credential_id_required listing them), an end user's credential is 409
// end_user_credential_not_assignable, an unknown one 404. The API creates at most 10 000 grants
// (then 402 grant_limit_exceeded).
//
// # Dev control API
//
// Outside /sdk/, only to loopback clients, without auth, JSON (cmd/altervault-dev serves it too):
//
//	GET    /_dev/env                                   the demo exports (ALTER_BASE_URL, …) as an object
//	GET    /_dev/audit                                 every audit row (AuditRow), oldest first
//	GET    /_dev/spans                                 every stored user span (Span), oldest first
//	GET    /_dev/requests                              [{"operation","method","path","query","headers","body","status"}], verbatim
//	                                                   (unlike Server.Requests, keys and tokens are not redacted)
//	DELETE /_dev/requests                              clears the request log (204)
//	POST   /_dev/faults                                {"operation","status","code","message","fields","retry_after","count","drop","delay_ms"} (204)
//	POST   /_dev/grants/{grant_id}/refresh-retries     {"attempts": N}: the next token answer carries retry_info (204)
//	PUT    /_dev/grants/{grant_id}/policy          {"require_approval","approval_gates","require_proxy","deny_reason"} (204)
//	POST   /_dev/approvals/{approval_id}/approve|deny|expire      {"reason"}: decides one gate (204)
//	POST   /_dev/grants/{grant_id}/state           {"state": "active|expired|revoked|deleted|credential_revoked"} (204)
//	POST   /_dev/connect/{session_token}/complete|deny|fail|expire {"provider","account"} or {"code"} (204);
//	                                               complete also takes {"grants":[{"provider","account"}],
//	                                               "failed":[{"provider","reason"}]} (a multi-provider outcome)
//	POST   /_dev/connect/{session_token}/decline   {"provider","code"}: one provider declined, still pending (204)
//	POST   /_dev/auth/{session_token}/complete|deny|expire        {"sub"} (204)
//	POST   /_dev/managed-secrets/{session_token}/complete|deny    {"secret"} → {"grant_id"} (deny: 204)
//	POST   /_dev/managed-secrets                       {"slug","name","secret"}: a managed secret (X-API-Key) → {"managed_secret_id"}
//	POST   /_dev/managed-secrets/{managed_secret_id}/credentials  {"label","secret"}: one more developer credential → {"credential_id"}
//	POST   /_dev/grants/{grant_id}/delegations         {"agent_id","delegable"}: a first-hop delegation (204)
//	POST   /_dev/providers/{provider}/onward-delegation {"allowed"}: the provider's onward-delegation ceiling (204)
//	GET    /_dev/identity                              {"issuer","app_id","jwks"}: what a verifier of identity assertions trusts
//	GET    /_dev/identity/jwks                         the JWK Set alone (application/jwk-set+json), as a JWKS URL serves it
//	GET    /_dev/violations                            ["…contract violation…"]
//
// A state error (already decided, unknown id) is 409 or 404 {"error": text}.
//
// # Flows
//
// A connect session made with a user token gives a grant owned by that user, delegated to the
// session's agent (the agent field, by UUID or name, or the calling agent); without a user, an
// agent's session gives a grant the agent owns and an app's a grant of the app, and an app's
// session naming an agent is refused (400 agent_requires_user_token). The request validators
// of the real vault apply (422: an empty provider list, direct or repair_grant_id without
// exactly one provider after trimming, lower-casing and de-duplication, repair_grant_id with
// agent, requested_grant or switch_account). A scope_constraint needs an agent to narrow and
// must fit at least one offered provider's scopes (the app's, or required_scopes); each provider
// it does not fit gets a scope_constraint_warnings entry (else 422 invalid_scope_constraint).
// The agent's delegation is then a child grant of the user's, held by the agent at depth 1 and
// narrowed to the constraint (proxy only: delegated_grant_requires_proxy in retrieve mode).
// direct is echoed, except for a session asking Delegable for an agent (the person decides on
// the consent screen). Completing a session (CompleteConnectSessionWith, the dev API or the page)
// makes one grant per account and lists the rest as failed_grants; connecting the same account
// again, or a repair_grant_id session, re-authorizes the existing grant in place (operation
// reauth, same id, delegations kept). A requested grant's restrictions are the new grant's (proxy
// only). A
// delegation stores Delegable as asked (unset keeps an existing delegation's setting), except on
// a provider whose onward-delegation ceiling is off (SetOnwardDelegation): a leaf, with
// policy_refused. DeclineProvider, the
// dev API's decline and the page's "Decline this provider" keep the session pending with the
// provider in declined_providers.
//
// A managed-secret connect session (E8) is for the user of its user_token. Its path is repair
// when repair_grant_id names the user's own key (credential_kind end_user; else 404
// grant_not_found), fast_path when the user holds an active grant on the secret (the one with
// the requested label, else the newest; existing_grant_id), repair when only the user's own key
// remains and it expired, else key_entry; an agent's own key gets path and existing_grant_id
// null. Completing it uses the held grant (fast path), stores the user's key as a new grant
// (key entry) or replaces the key in place and re-activates the grant (repair), then delegates
// to the session's agent. direct is echoed except with delegable, and always true for a repair. Proxy calls the vault executes itself, and
// audits; a grant whose policy (or whose agent's policy) requires approval answers 202 with a
// pending approval that the approval page, Approve or the dev API decide. An approval has one
// gate per approver set (Policy.ApprovalGates), each with its own id and page; it executes once
// every gate approved, and one denial or expiry ends it. GET /sdk/approvals/{id}?wait=N
// long-polls up to N ≤ 25 s (above: 422) and answers at the first decision. POST /sdk/auth/poll
// long-polls up to wait_ms ≤ 30 000. Proxy mode never follows upstream redirects (the injected
// credential must not travel to another host).
package vaulttest
