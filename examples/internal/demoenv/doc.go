// Package demoenv is the small amount of glue the runnable examples share, so that each example's
// main.go shows only SDK calls:
//
//   - Setup: use the vault described by the environment (ALTER_API_KEY, AGENT_API_KEY,
//     ALTER_BASE_URL and the demo ids printed by cmd/altervault-dev), or, when no key is set,
//     start an in-memory vault (vaulttest.SeedDemo) and export the same variables, saying so.
//   - PrintAudit: read the audit rows of a run from the dev vault's control API (GET /_dev/audit;
//     the real wire has no audit read endpoint for an SDK key), the same against the dev server
//     and the in-memory vault; SimulateRefreshRetries makes the next token answer carry the
//     vault's retry_info (POST /_dev/grants/{id}/refresh-retries).
//   - SubmitPage: press Approve on a vault page (connect consent, proxy approval) with net/http,
//     standing in for the human in an unattended demo.
//
// It is internal to the examples: real programs read their keys from their own configuration.
package demoenv
