package facade

import "strings"

// checkScopeConstraint refuses locally what the vault would refuse with 422
// invalid_scope_constraint: more than 100 atoms, and an atom that is empty, "*", longer than
// 512 characters or not an RFC 6749 scope-token (printable ASCII without space, '"' or '\').
// A non-nil empty list would narrow to nothing: nil is the full scope.
func checkScopeConstraint(field string, atoms []string) error {
	if atoms != nil && len(atoms) == 0 {
		return inputErr(field, "empty; use nil for the full scope", nil)
	}
	if len(atoms) > 100 {
		return inputErr(field, "at most 100 scopes", nil)
	}
	for _, s := range atoms {
		t := strings.TrimSpace(s)
		if t == "" || t == "*" || len(t) > 512 || strings.IndexFunc(t, notScopeChar) >= 0 {
			return inputErr(field, `each scope must be a concrete RFC 6749 scope-token of at most 512 characters ("*" and "" refused)`, nil)
		}
	}
	return nil
}

func notScopeChar(r rune) bool { return r < 0x21 || r > 0x7e || r == '"' || r == '\\' }
