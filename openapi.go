// Package alter carries the Alter Vault REST model, openapi.yaml, embedded, so that the in-memory
// vault (vaulttest) and the contract tests can load it from any module without a file path.
//
// The SDK itself lives in the facade package; the generated low-level client in gen.
package alter

import _ "embed"

// OpenAPI is the content of openapi.yaml, this module's model of the Alter Vault wire protocol.
//
//go:embed openapi.yaml
var OpenAPI []byte
