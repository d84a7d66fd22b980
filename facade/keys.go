package facade

import (
	"context"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/altersdk/alter-go/gen"
	"github.com/altersdk/alter-go/internal/apikey"
)

// Keys is the scoped API keys namespace (Keys on an App or an Agent): derive short-lived
// narrower keys, rotate and revoke keys.
type Keys struct{ c *client }

// Keys returns the scoped API keys namespace.
func (c *client) Keys() *Keys { return &Keys{c: c} }

// DefaultKeyOverlapDays is how long a rotated key keeps working next to its successor, unless
// Rotate is told otherwise.
const DefaultKeyOverlapDays = 7

// APIKeyInfo describes an API key, without its plaintext.
type APIKeyInfo struct {
	ID                    uuid.UUID
	Name                  string
	Prefix                string   // first characters of the plaintext, for recognition
	Type                  string   // "rk", "ak", "dk" or "pk"
	Scopes                []string // the Alter scopes it holds
	ScopeVersion          int
	CIDRAllowlist         []string  // networks it may be used from (nil: any)
	RateLimitRPM          int       // the key's own rate limit (0: none set)
	EffectiveRateLimitRPM int       // the limit that applies (0: not reported)
	RateLimitSource       string    // where that limit comes from ("key", "organization", …)
	ExpiresAt             time.Time // zero: does not expire
	DeprecatedAt          time.Time // zero unless deprecated
	RevokedAt             time.Time // zero unless revoked
	ParentKeyID           uuid.UUID // the key it was derived from (uuid.Nil: none)
	CreatedAt             time.Time
	LastUsedAt            time.Time
}

// KeyStatus is the state of an API key, from its rotation and revocation times.
type KeyStatus string

// The states of an API key (the vault's own vocabulary: a deprecated key is "rotated").
const (
	KeyStatusActive  KeyStatus = "active"
	KeyStatusRotated KeyStatus = "rotated"
	KeyStatusRevoked KeyStatus = "revoked"
)

// Status is revoked when RevokedAt is set, else rotated when DeprecatedAt is, else active.
func (k APIKeyInfo) Status() KeyStatus {
	switch {
	case !k.RevokedAt.IsZero():
		return KeyStatusRevoked
	case !k.DeprecatedAt.IsZero():
		return KeyStatusRotated
	}
	return KeyStatusActive
}

// IsValidKey reports whether key has the shape of an Alter API key: a scoped key
// alter_<rk|ak|dk|pk>_<22 base32>_<6 checksum> whose checksum matches, or a legacy
// alter_key_<40 URL-safe characters>. It is an offline typo catcher, not an authentication:
// only the vault knows whether the key exists.
func IsValidKey(key string) bool { return apikey.Valid(key) }

// MintedKey is a new key and its plaintext, shown once.
type MintedKey struct {
	APIKeyInfo
	APIKey Secret // store it now (Reveal)
}

// DeriveKeyParams describe a derived key: a subset of the calling key's scopes, for a while.
type DeriveKeyParams struct {
	Scopes        []string       // required; a subset of the caller's (not keys:derive)
	ExpiresIn     time.Duration  // required; sent in whole seconds (rounded up)
	CIDRAllowlist []string       // a subset of the caller's networks (nil: the caller's)
	Name          string         // default: the vault's derived-<date> name
	Metadata      map[string]any // stored with the key
}

func keysCall(op, field string) *call {
	return &call{op: op, surface: surfaceShared, field: field, actor: true, ctxHeader: true}
}

// Derive mints a derived key: a subset of the calling key's scopes (a scope it lacks is
// ErrInsufficientScope), for at most the vault's limit (24 h by default) and never past the
// calling key's own expiry. A derived key cannot derive.
func (k *Keys) Derive(ctx context.Context, p DeriveKeyParams) (MintedKey, error) {
	if len(p.Scopes) == 0 {
		return MintedKey{}, inputErr("DeriveKeyParams.Scopes", "required", nil)
	}
	for _, s := range p.Scopes {
		if strings.TrimSpace(s) == "" || s == "keys:derive" {
			return MintedKey{}, inputErr("DeriveKeyParams.Scopes", "blank scope, or keys:derive (a derived key cannot derive)", nil)
		}
	}
	if p.ExpiresIn <= 0 {
		return MintedKey{}, inputErr("DeriveKeyParams.ExpiresIn", "must be positive", nil)
	}
	req := gen.DeriveKeyRequest{Scopes: p.Scopes, ExpiresIn: int((p.ExpiresIn + time.Second - 1) / time.Second), Name: optStr(p.Name)}
	if p.CIDRAllowlist != nil {
		req.CidrAllowlist = &p.CIDRAllowlist
	}
	if p.Metadata != nil {
		req.Metadata = &p.Metadata
	}
	return k.minted(ctx, keysCall("deriveKey", "DeriveKeyParams"), req, func(ctx context.Context, raw gen.ClientInterface, body io.Reader) (*http.Response, error) {
		return raw.DeriveKeyWithBody(ctx, contentJSON, body)
	})
}

// Rotate mints the successor of a key, with the same scopes; the old one keeps working for
// overlapDays (0–30; DefaultKeyOverlapDays is the usual choice) and its Status becomes rotated.
// A derived key cannot be rotated (Code ErrorCodeInvalidScopeForDerivedKey): derive a new one.
func (k *Keys) Rotate(ctx context.Context, keyID uuid.UUID, overlapDays int) (MintedKey, error) {
	if keyID == uuid.Nil {
		return MintedKey{}, inputErr("keyID", "must be the key's UUID, not uuid.Nil", nil)
	}
	if overlapDays < 0 || overlapDays > 30 {
		return MintedKey{}, inputErr("overlapDays", "must be between 0 and 30", nil)
	}
	req := gen.RotateKeyRequest{OverlapDays: overlapDays}
	return k.minted(ctx, keysCall("rotateKey", "overlapDays"), req, func(ctx context.Context, raw gen.ClientInterface, body io.Reader) (*http.Response, error) {
		return raw.RotateKeyWithBody(ctx, keyID.String(), contentJSON, body)
	})
}

// Revoke revokes a key and the keys derived from it (rotation successors stay). A managed
// agent's last live key is refused unless Force (an *APIError with Code ErrorCodeLastActiveKey).
func (k *Keys) Revoke(ctx context.Context, keyID uuid.UUID, p RevokeKeyParams) (APIKeyInfo, error) {
	if keyID == uuid.Nil {
		return APIKeyInfo{}, inputErr("keyID", "must be the key's UUID, not uuid.Nil", nil)
	}
	params := &gen.RevokeKeyParams{}
	if p.Force {
		params.Force = &p.Force
	}
	out, err := sendValid(ctx, k.c, keysCall("revokeKey", ""), nil, func(ctx context.Context, raw gen.ClientInterface, _ io.Reader) (*http.Response, error) {
		return raw.RevokeKey(ctx, keyID.String(), params)
	}, func(g *gen.APIKeyInfo) bool {
		return validKeyInfo(g.KeyType, g.EffectiveRateLimitRpm, g.RateLimitSource)
	})
	if err != nil {
		return APIKeyInfo{}, err
	}
	return keyInfoFrom(out), nil
}

func (k *Keys) minted(ctx context.Context, d *call, model any, do genCall) (MintedKey, error) {
	out, err := sendValid(ctx, k.c, d, model, do, func(m *gen.MintedKey) bool {
		return m.APIKey != "" && validKeyInfo(m.KeyType, m.EffectiveRateLimitRpm, m.RateLimitSource)
	})
	if err != nil {
		return MintedKey{}, err
	}
	info := keyInfoFrom(gen.APIKeyInfo{CidrAllowlist: out.CidrAllowlist, CreatedAt: out.CreatedAt, DeprecatedAt: out.DeprecatedAt,
		EffectiveRateLimitRpm: out.EffectiveRateLimitRpm, ExpiresAt: out.ExpiresAt, ID: out.ID, KeyPrefix: out.KeyPrefix,
		KeyType: out.KeyType, LastUsedAt: out.LastUsedAt, Name: out.Name, ParentKeyID: out.ParentKeyID, RateLimitRpm: out.RateLimitRpm,
		RateLimitSource: out.RateLimitSource, RevokedAt: out.RevokedAt, ScopeVersion: out.ScopeVersion, Scopes: out.Scopes})
	return MintedKey{APIKeyInfo: info, APIKey: Secret(out.APIKey)}, nil
}

// validKeyInfo checks what 0.29.0 checks of a key answer: a known key type, and the effective
// rate limit and its source both present or both absent (one fact on the wire).
func validKeyInfo(typ gen.APIKeyType, effective *int, source *gen.RateLimitSource) bool {
	return typ.Valid() && (effective == nil) == (source == nil)
}

func keyInfoFrom(g gen.APIKeyInfo) APIKeyInfo {
	k := APIKeyInfo{ID: g.ID, Name: g.Name, Prefix: g.KeyPrefix, Type: string(g.KeyType), Scopes: g.Scopes,
		ScopeVersion: g.ScopeVersion, CIDRAllowlist: g.CidrAllowlist, RateLimitRPM: derefInt(g.RateLimitRpm),
		EffectiveRateLimitRPM: derefInt(g.EffectiveRateLimitRpm), ExpiresAt: derefTime(g.ExpiresAt),
		DeprecatedAt: derefTime(g.DeprecatedAt), RevokedAt: derefTime(g.RevokedAt), CreatedAt: g.CreatedAt,
		LastUsedAt: derefTime(g.LastUsedAt)}
	if g.RateLimitSource != nil {
		k.RateLimitSource = string(*g.RateLimitSource)
	}
	if g.ParentKeyID != nil {
		k.ParentKeyID = *g.ParentKeyID
	}
	return k
}
