// Package signing implements the request-signing scheme documented in openapi.yaml: an
// HMAC-SHA256 signature, keyed by a key derived from the API key, over a canonical string of the
// method, request target, timestamp, nonce and body hash. The facade signs with it and vaulttest
// verifies with it, so the two can never drift apart.
package signing
