// Package demoenv is the small amount of glue the runnable examples share, so that each example's
// main.go shows only SDK calls:
//
//   - Setup: use the vault described by the environment (ALTER_API_KEY, AGENT_API_KEY,
//     ALTER_BASE_URL and the demo ids printed by cmd/altervault-dev), or, when no key is set,
//     start an in-memory vault (vaulttest.SeedDemo) and export the same variables, saying so.
//   - PrintAudit: read the audit rows of a run through the API (Raw().ListAuditEventsWithResponse),
//     which works the same against the dev server and the in-memory vault.
//   - SubmitPage: press Approve on a vault page (connect consent, proxy approval) with net/http,
//     standing in for the human in an unattended demo.
//
// It is internal to the examples: real programs read their keys from their own configuration.
package demoenv
