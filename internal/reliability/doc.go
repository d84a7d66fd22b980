// Package reliability holds the facade's reliability tests (issue 7), black-box against the
// public API and vaulttest: the fault matrix (faults_test.go), the bad-input table
// (badinput_test.go), secret hygiene (hygiene_test.go), the concurrency soak (soak_test.go) and
// a fuzz target over Request's inputs (fuzz_test.go). It has no non-test code.
package reliability
