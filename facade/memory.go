package facade

import (
	"encoding/base64"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/altersdk/alter-go/internal/idtrust"
)

// provenance is the SDK's proof that it obtained (ResolveIdentity, AssertIdentity) or verified
// (identity.Verify) an identity. It is unexported so that no other code can forge it; the
// fingerprint makes an edited copy lose it.
type provenance struct {
	fingerprint [4]string
	expires     time.Time // zero: a resolved snapshot, valid only as long as it is refreshed
	minted      time.Time // when the SDK stamped it (with its monotonic reading)
}

func fingerprint(id *IdentityContext) [4]string {
	return [4]string{id.AppID, id.AgentID, id.AppUserID, id.UserStatus}
}

func trust(id *IdentityContext, expires time.Time) {
	id.proof = &provenance{fingerprint: fingerprint(id), expires: expires, minted: time.Now()}
}

func init() {
	// identity.Verify lives in its own package (its JWT dependencies stay out of programs that
	// import only facade); this is how it marks the identities it verified.
	idtrust.Verified = func(appID, agentID, appUserID string, expires time.Time) any {
		id := IdentityContext{AppID: appID, AgentID: agentID, AppUserID: appUserID, GroupIDs: []string{}}
		if appUserID != "" {
			id.UserStatus = UserActive // the vault asserts only active users
		}
		trust(&id, expires)
		return id
	}
}

// verify checks id's provenance: assertionOnly refuses a resolved snapshot, and a non-zero
// notBefore refuses a proof stamped before it (a memoised refresh).
func (id *IdentityContext) verify(assertionOnly bool, notBefore time.Time) error {
	p := id.proof
	if p == nil || p.fingerprint != fingerprint(id) {
		return memoryErr(MemoryIdentityUnverified, "resolve the identity through Alter or verify an identity assertion")
	}
	if assertionOnly && p.expires.IsZero() {
		return memoryErr(MemoryLiveRefreshRequired, "a resolved identity needs a Refresh on every operation")
	}
	if !p.expires.IsZero() && !time.Now().Before(p.expires) {
		return memoryErr(MemoryIdentityExpired, "resolve or verify a fresh identity")
	}
	if !notBefore.IsZero() && p.minted.Before(notBefore) {
		return memoryErr(MemoryRefreshNotLive, "Refresh must resolve a fresh identity on every call")
	}
	return nil
}

// Verified reports whether the SDK obtained or verified id (and it was not edited since): the
// condition for MemoryScope. An assertion-backed identity stops being verified at its expiry.
func (id IdentityContext) Verified() bool { return id.verify(false, time.Time{}) == nil }

// MemoryScope is a versioned private memory partition derived from a verified identity. It is
// metadata, not a capability: ScopedStore enforces it. Namespace and PartitionKey hold the
// whole isolation boundary; the entity keys are correlation labels.
type MemoryScope struct {
	UserKey      string   // alter:user:<app user id>; "" for an agent-only scope
	AgentKey     string   // alter:agent:<agent id>
	AppKey       string   // alter:app:<app id>
	Namespace    []string // the partition's namespace, every id base64url-encoded
	PartitionKey string   // Namespace joined with "/", with a trailing "/"
}

// MemoryScope derives the private partition of the agent acting for the end user: it needs a
// verified identity with an agent and an active user (Agent.ResolveIdentity with a user, or a
// verified agent assertion). Errors are *MemoryIsolationError.
func (id IdentityContext) MemoryScope() (MemoryScope, error) {
	if err := id.scopeable(); err != nil {
		return MemoryScope{}, err
	}
	if id.AppUserID == "" {
		return MemoryScope{}, memoryErr(MemoryUserRequired, "a verified end-user identity is required")
	}
	if id.UserStatus != UserActive {
		return MemoryScope{}, memoryErr(MemoryUserNotActive, "the end user must be active")
	}
	return newScope(id, "agent-user", id.AppID, id.AgentID, id.AppUserID), nil
}

// AgentMemoryScope derives the agent's own partition for a headless identity (no end user).
// Errors are *MemoryIsolationError.
func (id IdentityContext) AgentMemoryScope() (MemoryScope, error) {
	if err := id.scopeable(); err != nil {
		return MemoryScope{}, err
	}
	if id.AppUserID != "" {
		return MemoryScope{}, memoryErr(MemoryUserCannotBeDropped, "an agent-only scope needs a headless identity")
	}
	return newScope(id, "agent", id.AppID, id.AgentID), nil
}

func (id IdentityContext) scope(agentOnly bool) (MemoryScope, error) {
	if agentOnly {
		return id.AgentMemoryScope()
	}
	return id.MemoryScope()
}

func (id *IdentityContext) scopeable() error {
	if err := id.verify(false, time.Time{}); err != nil {
		return err
	}
	if id.AgentID == "" {
		return memoryErr(MemoryAgentRequired, "an authenticated agent is required")
	}
	return nil
}

func newScope(id IdentityContext, kind string, ids ...string) MemoryScope {
	ns := []string{"alter", "v2", kind}
	for _, v := range ids {
		ns = append(ns, segment(v))
	}
	s := MemoryScope{AgentKey: "alter:agent:" + id.AgentID, AppKey: "alter:app:" + id.AppID, Namespace: ns,
		PartitionKey: strings.Join(ns, "/") + "/"}
	if id.AppUserID != "" {
		s.UserKey = "alter:user:" + id.AppUserID
	}
	return s
}

// segment encodes one namespace segment: base64url of its UTF-8 bytes is injective and safe in
// tuple and slash-separated namespaces alike.
func segment(v string) string { return base64.RawURLEncoding.EncodeToString([]byte(v)) }

// Developer paths are identifiers, not content: at most 16 segments of at most 255 bytes.
const (
	maxMemoryPathSegments = 16
	maxMemorySegmentBytes = 255
)

// NamespaceFor returns the scope's namespace followed by path, each segment encoded: developer
// subdivisions of the partition that cannot replace its base. Segments must be non-empty valid
// UTF-8 of at most 255 bytes, at most 16 of them (else an *InputError).
func (s MemoryScope) NamespaceFor(path ...string) ([]string, error) {
	if len(path) > maxMemoryPathSegments {
		return nil, inputErr("path", "at most 16 segments", nil)
	}
	ns := make([]string, 0, len(s.Namespace)+len(path))
	ns = append(ns, s.Namespace...)
	for i, p := range path {
		switch {
		case p == "" || !utf8.ValidString(p):
			return nil, inputErr("path["+strconv.Itoa(i)+"]", "must be a non-empty UTF-8 string", nil)
		case len(p) > maxMemorySegmentBytes:
			return nil, inputErr("path["+strconv.Itoa(i)+"]", "must be at most 255 bytes", nil)
		}
		ns = append(ns, segment(p))
	}
	return ns, nil
}
