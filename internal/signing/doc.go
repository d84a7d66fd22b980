// Package signing implements the request signing of the Alter Vault wire as alter-sdk 0.29.0
// speaks it: an HMAC-SHA256 keyed by a key derived from the API key, over the method, the
// canonical path and query, the timestamp, a nonce, the body hash, the attenuation headers and,
// in its V2 form, the identity headers.
//
// The facade signs with [Sign]; vaulttest verifies with [Verify] and refuses replays with a
// [ReplayCache]. Sharing one implementation keeps client and emulator from drifting apart, and
// the worked vectors of the reference (transport.md §3.3 and §3.6) pin it to the official SDK.
package signing
