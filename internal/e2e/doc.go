// Package e2e holds end-to-end tests that drive a real headless Chromium (through chromedp)
// against vaulttest: the headless Connect flow as a person would click through it. It has no
// non-test code. The tests skip when no Chromium is installed, unless ALTER_E2E=require, in
// which case they fail (CI sets it).
package e2e
