// Package idtrust connects package identity, which verifies identity assertions, to package
// facade, which alone can mark an IdentityContext verified: facade sets Verified when it is
// initialised, and identity (which imports facade, so runs after it) calls it. Being internal,
// no code outside this module can mint a verified identity through it.
package idtrust

import "time"

// Verified returns a facade.IdentityContext (as any: this package cannot import facade) for the
// given identity, marked verified until expires.
var Verified func(appID, agentID, appUserID string, expires time.Time) any
