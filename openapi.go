// Package alter carries openapi.yaml, the model of the real Alter Vault wire protocol as the
// official Python SDK alter-sdk 0.29.0 speaks it, embedded so that the in-memory vault (vaulttest)
// and the contract tests can load it from any module without a file path.
//
// The SDK itself lives in the facade package; the generated low-level client in gen.
package alter

import _ "embed"

// OpenAPI is the content of openapi.yaml: the 42 /sdk/ endpoints of Alter Vault, their bodies,
// models, errors, response headers and the signed-request security scheme, following alter-sdk
// 0.29.0.
//
//go:embed openapi.yaml
var OpenAPI []byte
