// Package e2e holds end-to-end tests that drive a real headless Chromium (through chromedp)
// against vaulttest: the Connect and sign-in flows as a person would click through the vault's
// consent and sign-in pages. It has no non-test code. The tests skip when no Chromium is
// installed, unless ALTER_E2E=require, in which case they fail (CI sets it).
package e2e
