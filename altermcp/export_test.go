package altermcp

// SetAuthCaps shrinks the store caps of as, for tests.
func SetAuthCaps(as *AuthServer, clients, pending, tokens int) {
	as.maxClients, as.maxPending, as.maxTokens = clients, pending, tokens
}

// AuthStoreSizes is how many clients, pending authorizations, grants, access and live refresh
// tokens as holds.
func AuthStoreSizes(as *AuthServer) [5]int {
	as.mu.Lock()
	defer as.mu.Unlock()
	refresh := 0
	for _, g := range as.grants {
		if !g.refreshExp.IsZero() {
			refresh++
		}
	}
	return [5]int{len(as.clients), len(as.pending), len(as.grants), len(as.access), refresh}
}
