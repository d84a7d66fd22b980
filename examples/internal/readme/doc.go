// Package readme holds the code snippets of README.md that are not taken from an example or a
// godoc Example, so that every snippet of the README compiles against the real API. They live in
// snippets_test.go: compiled by go vet and go test, never run (they call real provider URLs).
// examples/readme_test.go checks that each Go block of README.md appears, line for line, in a
// compiled Go file (here, in another example, or in facade/example_test.go).
package readme
