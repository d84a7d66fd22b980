package facade

import (
	"github.com/google/uuid"

	"github.com/altersdk/alter-go/gen"
)

// The methods below are the same on App and Agent: written once on the core both embed.

// BaseURL returns the resolved vault URL (diagnostic only).
func (c *client) BaseURL() string { return c.baseURL }

// ActorID returns the actor id the vault resolved for this client, cached from the first answer
// carrying a canonical X-Alter-Actor-ID (uuid.Nil before that). Answers to calls made with a
// per-call Caller, and approval polls, do not set it.
func (c *client) ActorID() uuid.UUID {
	id, _ := uuid.Parse(c.actor())
	return id
}

// LastRetryInfo returns the vault's token-refresh report of the most recent Request made through
// this client (with concurrent calls: whichever fetched its credential last): nil when the
// credential needed no retried refresh, or no Request ran yet. Each Response carries its own.
func (c *client) LastRetryInfo() *RetryInfo { return c.lastRetry.Load() }

// Close waits for the background audit posts and scope reports (up to 5 s, then cancels them)
// and releases idle connections. It is idempotent; every call after it returns ErrClosed.
func (c *client) Close() error { return c.close() }

// KeyDeprecated reports whether a vault answer said this client's API key is deprecated
// (X-Alter-Key-Deprecated: true). The first such answer is also logged once, at Warn.
func (c *client) KeyDeprecated() bool { return c.deprecated.Load() }

// Raw returns the generated client, wired with the key, signing, the identity and context
// headers and WithTimeout, for endpoints the facade does not cover. Non-2xx answers are not
// errors there: inspect the XxxResponse. Raw calls are never retried.
func (c *client) Raw() *gen.ClientWithResponses { return c.raw }
