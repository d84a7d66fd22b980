// Package bench measures the SDK against its floor: the same HTTP exchanges (credential
// retrieval, upstream call, audit post) written by hand with net/http and encoding/json, with the
// same signing and headers. Both run against lean loopback handlers, not vaulttest, so that the
// emulator's own cost (contract validation, audit bookkeeping) does not hide the SDK's.
//
// Run it with `make bench`.
package bench
