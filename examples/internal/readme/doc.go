// Package readme holds the code snippets of README.md that are not taken from an example, so that
// every snippet of the README compiles against the real API. They live in snippets_test.go:
// compiled by go vet and go test, never run (they call real provider URLs).
// examples/readme_test.go checks that each Go block of README.md appears, line for line, in a
// compiled Go file under examples/ (here, or in an example).
package readme
