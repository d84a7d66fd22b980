package vaulttest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sort"
	"strings"
	"time"
)

// The provider spec store (GET /sdk/provider-specs…): a few providers' active API specs, with
// operations whose ids follow each upstream document (GitHub's "repos/get", Google's discovery
// ids, Slack's method names, Stripe's operationIds) or, for a document without ids (Resend),
// the "<method>:<path>" form the real store makes. OAuth providers of the catalog without a spec
// (notion, microsoft) answer 404 provider_spec_not_found, as a provider not yet ingested does.

// specOp is one operation of a seeded spec.
type specOp struct {
	id, method, path, summary string
	query                     []specParam
	request, response         map[string]any // JSON Schemas; nil: none
}

// specParam is a query parameter (path parameters come from the path template).
type specParam struct {
	name, typ, about string
	required         bool
}

type providerSpec struct {
	kind, id, title, specVersion, provenance, source string
	version                                          int
	fetched, changed                                 time.Time
	ops                                              []specOp // sorted by id
	hash                                             string
}

func obj(required []string, props ...any) map[string]any {
	p := map[string]any{}
	for i := 0; i+1 < len(props); i += 2 {
		p[props[i].(string)] = props[i+1]
	}
	out := map[string]any{"type": "object", "properties": p}
	if len(required) > 0 {
		out["required"] = required
	}
	return out
}

func typ(t string) map[string]any { return map[string]any{"type": t} }

func enum(vals ...string) map[string]any { return map[string]any{"type": "string", "enum": vals} }

func arrayOf(items map[string]any) map[string]any {
	return map[string]any{"type": "array", "items": items}
}

var (
	ghRepo  = obj([]string{"id", "name", "full_name"}, "id", typ("integer"), "name", typ("string"), "full_name", typ("string"), "private", typ("boolean"), "default_branch", typ("string"))
	ghIssue = obj([]string{"id", "number", "title", "state"}, "id", typ("integer"), "number", typ("integer"), "title", typ("string"), "state", enum("open", "closed"), "body", typ("string"))
	ghPull  = obj([]string{"id", "number", "state"}, "id", typ("integer"), "number", typ("integer"), "state", enum("open", "closed"), "head", typ("object"), "base", typ("object"))
	ghUser  = obj([]string{"login", "id"}, "login", typ("string"), "id", typ("integer"), "name", typ("string"), "email", typ("string"))
	paging  = []specParam{{name: "per_page", typ: "integer", about: "Results per page (max 100)"}, {name: "page", typ: "integer", about: "Page number"}}
	gmMsg   = obj([]string{"id", "threadId"}, "id", typ("string"), "threadId", typ("string"), "labelIds", arrayOf(typ("string")), "snippet", typ("string"))
	gcEvent = obj([]string{"id"}, "id", typ("string"), "summary", typ("string"), "start", obj(nil, "dateTime", typ("string")), "end", obj(nil, "dateTime", typ("string")))
	slackOK = obj([]string{"ok"}, "ok", typ("boolean"), "error", typ("string"))
	stripeC = obj([]string{"id", "object"}, "id", typ("string"), "object", enum("customer"), "email", typ("string"), "name", typ("string"))
	list    = func(of map[string]any) map[string]any {
		return obj([]string{"object", "data", "has_more"}, "object", enum("list"), "data", arrayOf(of), "has_more", typ("boolean"))
	}
)

func seedSpecs() []*providerSpec {
	day := func(m time.Month, d int) time.Time { return time.Date(2026, m, d, 4, 0, 0, 0, time.UTC) }
	specs := []*providerSpec{
		{kind: "oauth", id: "github", title: "GitHub v3 REST API", specVersion: "1.1.4", provenance: "vendor_openapi",
			source:  "https://raw.githubusercontent.com/github/rest-api-description/main/descriptions/api.github.com/api.github.com.json",
			version: 3, fetched: day(11, 30), changed: day(11, 2), ops: []specOp{
				{id: "repos/get", method: "GET", path: "/repos/{owner}/{repo}", summary: "Get a repository", response: ghRepo},
				{id: "repos/delete", method: "DELETE", path: "/repos/{owner}/{repo}", summary: "Delete a repository"},
				{id: "repos/list-for-authenticated-user", method: "GET", path: "/user/repos", summary: "List repositories for the authenticated user",
					query: append([]specParam{{name: "visibility", typ: "string", about: "all, public or private"}}, paging...), response: arrayOf(ghRepo)},
				{id: "repos/create-for-authenticated-user", method: "POST", path: "/user/repos", summary: "Create a repository for the authenticated user",
					request: obj([]string{"name"}, "name", typ("string"), "description", typ("string"), "private", typ("boolean")), response: ghRepo},
				{id: "issues/list-for-repo", method: "GET", path: "/repos/{owner}/{repo}/issues", summary: "List repository issues",
					query:    append([]specParam{{name: "state", typ: "string", about: "open, closed or all"}, {name: "labels", typ: "string", about: "Comma-separated label names"}}, paging...),
					response: arrayOf(ghIssue)},
				{id: "issues/create", method: "POST", path: "/repos/{owner}/{repo}/issues", summary: "Create an issue",
					request: obj([]string{"title"}, "title", typ("string"), "body", typ("string"), "labels", arrayOf(typ("string")), "assignees", arrayOf(typ("string"))), response: ghIssue},
				{id: "issues/get", method: "GET", path: "/repos/{owner}/{repo}/issues/{issue_number}", summary: "Get an issue", response: ghIssue},
				{id: "issues/update", method: "PATCH", path: "/repos/{owner}/{repo}/issues/{issue_number}", summary: "Update an issue",
					request: obj(nil, "title", typ("string"), "body", typ("string"), "state", enum("open", "closed")), response: ghIssue},
				{id: "issues/create-comment", method: "POST", path: "/repos/{owner}/{repo}/issues/{issue_number}/comments", summary: "Create an issue comment",
					request: obj([]string{"body"}, "body", typ("string")), response: obj([]string{"id"}, "id", typ("integer"), "body", typ("string"))},
				{id: "pulls/list", method: "GET", path: "/repos/{owner}/{repo}/pulls", summary: "List pull requests",
					query: append([]specParam{{name: "state", typ: "string", about: "open, closed or all"}}, paging...), response: arrayOf(ghPull)},
				{id: "pulls/create", method: "POST", path: "/repos/{owner}/{repo}/pulls", summary: "Create a pull request",
					request: obj([]string{"head", "base"}, "title", typ("string"), "head", typ("string"), "base", typ("string"), "body", typ("string"), "draft", typ("boolean")), response: ghPull},
				{id: "pulls/merge", method: "PUT", path: "/repos/{owner}/{repo}/pulls/{pull_number}/merge", summary: "Merge a pull request",
					request: obj(nil, "commit_title", typ("string"), "merge_method", enum("merge", "squash", "rebase")), response: obj([]string{"merged"}, "merged", typ("boolean"), "sha", typ("string"))},
				{id: "users/get-authenticated", method: "GET", path: "/user", summary: "Get the authenticated user", response: ghUser},
				{id: "search/repos", method: "GET", path: "/search/repositories", summary: "Search repositories",
					query:    append([]specParam{{name: "q", typ: "string", about: "The search keywords and qualifiers", required: true}, {name: "sort", typ: "string", about: "stars, forks or updated"}}, paging...),
					response: obj([]string{"total_count", "items"}, "total_count", typ("integer"), "items", arrayOf(ghRepo))},
			}},
		{kind: "oauth", id: "google", title: "Google Workspace APIs (Gmail, Calendar, Drive)", specVersion: "v1", provenance: "discovery_document",
			source: "https://gmail.googleapis.com/$discovery/rest?version=v1", version: 5, fetched: day(11, 30), changed: day(10, 14), ops: []specOp{
				{id: "gmail.users.getProfile", method: "GET", path: "/gmail/v1/users/{userId}/profile", summary: "Gets the current user's Gmail profile",
					response: obj([]string{"emailAddress"}, "emailAddress", typ("string"), "messagesTotal", typ("integer"))},
				{id: "gmail.users.messages.list", method: "GET", path: "/gmail/v1/users/{userId}/messages", summary: "Lists the messages in the user's mailbox",
					query:    []specParam{{name: "q", typ: "string", about: "Gmail search query"}, {name: "maxResults", typ: "integer", about: "Maximum number of messages"}, {name: "pageToken", typ: "string", about: "Page token"}},
					response: obj(nil, "messages", arrayOf(gmMsg), "nextPageToken", typ("string"))},
				{id: "gmail.users.messages.get", method: "GET", path: "/gmail/v1/users/{userId}/messages/{id}", summary: "Gets the specified message",
					query: []specParam{{name: "format", typ: "string", about: "minimal, full, raw or metadata"}}, response: gmMsg},
				{id: "gmail.users.messages.send", method: "POST", path: "/gmail/v1/users/{userId}/messages/send", summary: "Sends the specified message to the recipients",
					request: obj([]string{"raw"}, "raw", typ("string")), response: gmMsg},
				{id: "gmail.users.labels.list", method: "GET", path: "/gmail/v1/users/{userId}/labels", summary: "Lists all labels in the user's mailbox",
					response: obj(nil, "labels", arrayOf(obj([]string{"id", "name"}, "id", typ("string"), "name", typ("string"))))},
				{id: "calendar.events.list", method: "GET", path: "/calendar/v3/calendars/{calendarId}/events", summary: "Returns events on the specified calendar",
					query:    []specParam{{name: "timeMin", typ: "string", about: "Lower bound (RFC 3339)"}, {name: "timeMax", typ: "string", about: "Upper bound (RFC 3339)"}, {name: "singleEvents", typ: "boolean", about: "Expand recurring events"}},
					response: obj(nil, "items", arrayOf(gcEvent), "nextPageToken", typ("string"))},
				{id: "calendar.events.insert", method: "POST", path: "/calendar/v3/calendars/{calendarId}/events", summary: "Creates an event",
					request: gcEvent, response: gcEvent},
				{id: "drive.files.list", method: "GET", path: "/drive/v3/files", summary: "Lists the user's files",
					query:    []specParam{{name: "q", typ: "string", about: "Search query"}, {name: "pageSize", typ: "integer", about: "Files per page"}, {name: "pageToken", typ: "string", about: "Page token"}},
					response: obj(nil, "files", arrayOf(obj([]string{"id", "name"}, "id", typ("string"), "name", typ("string"), "mimeType", typ("string"))))},
			}},
		{kind: "oauth", id: "slack", title: "Slack Web API", specVersion: "1.7.0", provenance: "vendor_openapi",
			source: "https://api.slack.com/specs/openapi/v2/slack_web.json", version: 2, fetched: day(11, 29), changed: day(9, 1), ops: []specOp{
				{id: "chat.postMessage", method: "POST", path: "/chat.postMessage", summary: "Sends a message to a channel",
					request: obj([]string{"channel"}, "channel", typ("string"), "text", typ("string"), "blocks", arrayOf(typ("object"))), response: slackOK},
				{id: "conversations.list", method: "GET", path: "/conversations.list", summary: "Lists all channels in a Slack team",
					query: []specParam{{name: "types", typ: "string", about: "public_channel, private_channel, mpim, im"}, {name: "limit", typ: "integer", about: "Maximum items"}, {name: "cursor", typ: "string", about: "Pagination cursor"}}, response: slackOK},
				{id: "conversations.history", method: "GET", path: "/conversations.history", summary: "Fetches a conversation's history of messages and events",
					query: []specParam{{name: "channel", typ: "string", about: "Conversation ID", required: true}, {name: "limit", typ: "integer", about: "Maximum items"}}, response: slackOK},
				{id: "users.info", method: "GET", path: "/users.info", summary: "Gets information about a user",
					query: []specParam{{name: "user", typ: "string", about: "User ID", required: true}}, response: slackOK},
				{id: "users.list", method: "GET", path: "/users.list", summary: "Lists all users in a Slack team", response: slackOK},
			}},
		{kind: "managed", id: "stripe", title: "Stripe API", specVersion: "2024-06-20", provenance: "vendor_openapi",
			source: "https://raw.githubusercontent.com/stripe/openapi/master/openapi/spec3.json", version: 7, fetched: day(11, 30), changed: day(11, 20), ops: []specOp{
				{id: "GetCustomers", method: "GET", path: "/v1/customers", summary: "List all customers",
					query: []specParam{{name: "email", typ: "string", about: "Filter by email"}, {name: "limit", typ: "integer", about: "1 to 100"}, {name: "starting_after", typ: "string", about: "Cursor"}}, response: list(stripeC)},
				{id: "PostCustomers", method: "POST", path: "/v1/customers", summary: "Create a customer",
					request: obj(nil, "email", typ("string"), "name", typ("string"), "metadata", typ("object")), response: stripeC},
				{id: "GetCustomersCustomer", method: "GET", path: "/v1/customers/{customer}", summary: "Retrieve a customer", response: stripeC},
				{id: "PostPaymentIntents", method: "POST", path: "/v1/payment_intents", summary: "Create a PaymentIntent",
					request:  obj([]string{"amount", "currency"}, "amount", typ("integer"), "currency", typ("string"), "customer", typ("string")),
					response: obj([]string{"id", "status"}, "id", typ("string"), "status", typ("string"), "amount", typ("integer"))},
				{id: "PostRefunds", method: "POST", path: "/v1/refunds", summary: "Create a refund",
					request: obj(nil, "charge", typ("string"), "payment_intent", typ("string"), "amount", typ("integer")), response: obj([]string{"id"}, "id", typ("string"), "status", typ("string"))},
			}},
		{kind: "managed", id: "resend", title: "Resend", specVersion: "1.1.0", provenance: "community_openapi",
			version: 1, fetched: day(11, 28), changed: day(8, 5), ops: []specOp{
				{id: "post:/emails", method: "POST", path: "/emails", summary: "Send an email",
					request:  obj([]string{"from", "to", "subject"}, "from", typ("string"), "to", arrayOf(typ("string")), "subject", typ("string"), "html", typ("string"), "text", typ("string")),
					response: obj([]string{"id"}, "id", typ("string"))},
				{id: "post:/emails/batch", method: "POST", path: "/emails/batch", summary: "Send up to 100 emails at once",
					request: arrayOf(obj([]string{"from", "to", "subject"}, "from", typ("string"), "to", arrayOf(typ("string")), "subject", typ("string")))},
				{id: "get:/emails/{email_id}", method: "GET", path: "/emails/{email_id}", summary: "Retrieve a single email"},
				{id: "get:/domains", method: "GET", path: "/domains", summary: "List all domains"},
				{id: "post:/domains", method: "POST", path: "/domains", summary: "Create a domain",
					request: obj([]string{"name"}, "name", typ("string"), "region", enum("us-east-1", "eu-west-1", "sa-east-1"))},
				{id: "delete:/domains/{domain_id}", method: "DELETE", path: "/domains/{domain_id}", summary: "Remove an existing domain"},
			}},
	}
	for _, sp := range specs {
		sort.Slice(sp.ops, func(i, j int) bool { return sp.ops[i].id < sp.ops[j].id })
		doc, _ := json.Marshal(sp.opsJSON())
		h := sha256.Sum256(doc)
		sp.hash = "sha256:" + hex.EncodeToString(h[:])
	}
	return specs
}

// providerSpecs is the seeded store, read-only.
var providerSpecs = seedSpecs()

func findSpec(kind, id string) *providerSpec {
	for _, sp := range providerSpecs {
		if sp.kind == kind && sp.id == id {
			return sp
		}
	}
	return nil
}

func (sp *providerSpec) metaJSON() map[string]any {
	var source any
	if sp.source != "" {
		source = sp.source
	}
	return map[string]any{"provider_kind": sp.kind, "provider_id": sp.id, "version": sp.version,
		"provenance": sp.provenance, "source_url": source, "content_hash": sp.hash, "operation_count": len(sp.ops),
		"fetched_at": rfc(sp.fetched), "changed_at": rfc(sp.changed), "title": sp.title, "spec_version": sp.specVersion}
}

func (sp *providerSpec) opsJSON() []map[string]any {
	out := make([]map[string]any, len(sp.ops))
	for i := range sp.ops {
		out[i] = sp.ops[i].detailJSON()
	}
	return out
}

// matches is the store's search: a case-insensitive substring of the id, the path or the summary.
func (op *specOp) matches(search string) bool {
	s := strings.ToLower(search)
	return strings.Contains(strings.ToLower(op.id), s) || strings.Contains(strings.ToLower(op.path), s) ||
		strings.Contains(strings.ToLower(op.summary), s)
}

func (op *specOp) summaryJSON() map[string]any {
	var summary any
	if op.summary != "" {
		summary = op.summary
	}
	return map[string]any{"operation_id": op.id, "method": op.method, "path_template": op.path, "summary": summary}
}

// detailJSON is the operation with its schemas: one OpenAPI parameter object per path and query
// parameter (null when there are none), the request and response schemas (null when none).
func (op *specOp) detailJSON() map[string]any {
	out := op.summaryJSON()
	var params []any
	for _, seg := range strings.Split(op.path, "/") {
		if name, ok := strings.CutPrefix(seg, "{"); ok {
			name = strings.TrimSuffix(name, "}")
			params = append(params, map[string]any{"name": name, "in": "path", "required": true, "schema": typ("string")})
		}
	}
	for _, q := range op.query {
		params = append(params, map[string]any{"name": q.name, "in": "query", "required": q.required,
			"description": q.about, "schema": typ(q.typ)})
	}
	out["params_schema"], out["request_schema"], out["response_schema"] = nil, nil, nil
	if params != nil {
		out["params_schema"] = params
	}
	if op.request != nil {
		out["request_schema"] = op.request
	}
	if op.response != nil {
		out["response_schema"] = op.response
	}
	return out
}
