package altermcp

// SetAuthCaps shrinks the store caps of as, for tests.
func SetAuthCaps(as *AuthServer, clients, pending, tokens int) {
	as.maxClients, as.maxPending, as.maxTokens = clients, pending, tokens
}

// AuthStoreSizes is how many clients, pending authorizations, access and refresh tokens as holds.
func AuthStoreSizes(as *AuthServer) [4]int {
	as.mu.Lock()
	defer as.mu.Unlock()
	return [4]int{len(as.clients), len(as.pending), len(as.access), len(as.refresh)}
}
