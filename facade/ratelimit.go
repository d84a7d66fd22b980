package facade

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// RateLimitSnapshot is the rate-limit budget the vault advertised on the last metered call.
// The numbers describe the binding constraint: the organization's aggregate instead of this
// key's own ceiling whenever the aggregate has less left.
type RateLimitSnapshot struct {
	Limit     int       // requests allowed per window
	Remaining int       // requests left against the binding constraint (0 on a 429)
	ResetAt   time.Time // when the window resets, on the vault's clock (UTC)
}

// LastRateLimit returns the budget the vault advertised on the last metered answer (errors
// included), shared by every client over the same key and connections. ok is false while it
// is unknown: no metered call has completed yet. Unknown is not unlimited.
func (c *client) LastRateLimit() (snap RateLimitSnapshot, ok bool) {
	if p := c.rateLimit.Load(); p != nil {
		return *p, true
	}
	return RateLimitSnapshot{}, false
}

// maxResetEpoch is the last second of year 9999: a later reset is malformed, as for alter-sdk.
const maxResetEpoch = 253402300799

// maxHeaderDigits bounds the significant digits of a budget header (the reset epoch's 12).
var maxHeaderDigits = len(strconv.Itoa(maxResetEpoch))

// noteRateLimit keeps the snapshot of an answer's rate-limit headers, when it has a whole one.
func (c *client) noteRateLimit(h http.Header) {
	if snap, ok := parseRateLimit(h, c.now()); ok {
		kept := snap // only a snapshot that is kept goes to the heap
		c.rateLimit.Store(&kept)
	}
}

// parseRateLimit reads the X-RateLimit-Limit/-Remaining/-Reset triple (preferred: its reset is
// absolute), else the RateLimit-Policy / RateLimit pair of draft-ietf-httpapi-ratelimit-headers.
// A partial or malformed set is no snapshot: nothing is invented.
// The header names are written in canonical form (X-Ratelimit-…), which Header.Get and Values
// look up without building a new string.
func parseRateLimit(h http.Header, now time.Time) (RateLimitSnapshot, bool) {
	limit, okL := headerInt(h.Get("X-Ratelimit-Limit"))
	remaining, okR := headerInt(h.Get("X-Ratelimit-Remaining"))
	reset, okT := headerInt(h.Get("X-Ratelimit-Reset"))
	if okL && okR && okT && reset <= maxResetEpoch {
		return RateLimitSnapshot{Limit: limit, Remaining: remaining, ResetAt: time.Unix(int64(reset), 0).UTC()}, true
	}
	return parseStandardRateLimit(h, now)
}

func parseStandardRateLimit(h http.Header, now time.Time) (RateLimitSnapshot, bool) {
	if len(h.Values("Ratelimit")) == 0 || len(h.Values("Ratelimit-Policy")) == 0 {
		return RateLimitSnapshot{}, false
	}
	policies := map[string]map[string]string{}
	for _, it := range rateLimitItems(strings.Join(h.Values("Ratelimit-Policy"), ", ")) {
		policies[it.name] = it.params
	}
	for _, it := range rateLimitItems(strings.Join(h.Values("Ratelimit"), ", ")) {
		policy, found := policies[it.name]
		if !found {
			continue
		}
		limit, okQ := headerInt(policy["q"])
		remaining, okR := headerInt(it.params["r"])
		after, okT := headerInt(it.params["t"])
		if !okQ || !okR || !okT {
			continue
		}
		reset := now.Unix() + int64(after)
		if reset > maxResetEpoch {
			continue
		}
		return RateLimitSnapshot{Limit: limit, Remaining: remaining, ResetAt: time.Unix(reset, 0).UTC()}, true
	}
	return RateLimitSnapshot{}, false
}

type rateLimitItem struct {
	name   string
	params map[string]string
}

// rateLimitItems parses a structured-field list of `"name";key=digits;…` items; an item with a
// malformed name or parameter is skipped whole.
func rateLimitItems(raw string) []rateLimitItem {
	var out []rateLimitItem
	for cand := range strings.SplitSeq(raw, ",") {
		parts := strings.Split(strings.TrimSpace(cand), ";")
		name := strings.TrimSpace(parts[0])
		if len(name) < 3 || len(name) > 66 || name[0] != '"' || name[len(name)-1] != '"' || !allOf(name[1:len(name)-1], isItemNameByte) {
			continue
		}
		params := map[string]string{}
		valid := true
		for _, p := range parts[1:] {
			k, v, found := strings.Cut(strings.TrimSpace(p), "=")
			if !found || !validParamKey(k) || v == "" || !allOf(v, isDigit) {
				valid = false
				break
			}
			params[k] = v
		}
		if valid {
			out = append(out, rateLimitItem{name: name[1 : len(name)-1], params: params})
		}
	}
	return out
}

func validParamKey(k string) bool {
	if k == "" || k[0] < 'a' || k[0] > 'z' {
		return false
	}
	return allOf(k[1:], func(b byte) bool {
		return b >= 'a' && b <= 'z' || isDigit(b) || b == '_' || b == '.' || b == '*' || b == '-'
	})
}

func isItemNameByte(b byte) bool {
	return b >= 'A' && b <= 'Z' || b >= 'a' && b <= 'z' || isDigit(b) || b == '_' || b == '.' || b == ':' || b == '-'
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

func allOf(s string, ok func(byte) bool) bool {
	for i := range len(s) {
		if !ok(s[i]) {
			return false
		}
	}
	return true
}

// headerInt is a budget header as an int: ASCII digits only (leading zeros allowed), at most
// maxHeaderDigits significant digits; anything else is unknown.
func headerInt(raw string) (int, bool) {
	s := strings.TrimSpace(raw)
	if s == "" || !allOf(s, isDigit) {
		return 0, false
	}
	sig := strings.TrimLeft(s, "0")
	if len(sig) > maxHeaderDigits {
		return 0, false
	}
	if sig == "" {
		return 0, true
	}
	n, err := strconv.Atoi(sig)
	return n, err == nil
}
