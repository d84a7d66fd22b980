// Package bench measures the SDK against its floor: the same exchanges on the real vault wire
// (the signed credential retrieval POST /sdk/token, the upstream call with the credential
// injected, the signed audit post POST /sdk/oauth/audit/api-call; and GET /sdk/agents/me) written
// by hand with net/http, encoding/json and internal/signing, with the same headers. Both run
// against lean loopback handlers, not vaulttest, so that the emulator's own cost (signature
// checks, contract validation, audit bookkeeping) does not hide the SDK's; a test runs the floor
// against vaulttest to show the real vault accepts it.
//
// Run it with `make bench`.
package bench
