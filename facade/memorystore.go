package facade

import (
	"context"
	"slices"
	"time"
	"unicode/utf8"
)

// MemoryItem is one stored value of a NamespaceStore.
type MemoryItem struct {
	Namespace []string
	Key       string
	Value     map[string]any
}

// MemorySearch is a NamespaceStore search: the query and filter mean what the store makes of
// them (full text, vectors, field equality…).
type MemorySearch struct {
	Query  string         // "": none
	Filter map[string]any // nil: none
	Limit  int            // 0: 10
	Offset int
}

// NamespaceStore is a hierarchical key-value store (Redis, Postgres, a LangGraph-style store…)
// that ScopedStore confines to one identity's partition. Namespaces are segment lists;
// prefix matching is by whole segments.
type NamespaceStore interface {
	// Get returns the item, or nil and no error when there is none.
	Get(ctx context.Context, namespace []string, key string) (*MemoryItem, error)
	Put(ctx context.Context, namespace []string, key string, value map[string]any) error
	Delete(ctx context.Context, namespace []string, key string) error
	// Search returns items whose namespace starts with prefix.
	Search(ctx context.Context, prefix []string, q MemorySearch) ([]MemoryItem, error)
	// ListNamespaces returns the namespaces that start with prefix.
	ListNamespaces(ctx context.Context, prefix []string, limit, offset int) ([][]string, error)
}

// ScopedStoreOptions configure NewScopedStore.
type ScopedStoreOptions struct {
	// Refresh resolves the identity again through Alter (ResolveIdentity) and is called at the
	// start of every operation; an identity it returns that was obtained before the operation
	// began (a cached one) is refused with MemoryRefreshNotLive. Without Refresh the identity
	// must come from an unexpired assertion (AssertIdentity, identity.Verify).
	Refresh func(ctx context.Context) (IdentityContext, error)
	// AgentOnly pins the agent's own partition (AgentMemoryScope) instead of the agent's
	// partition for the end user (MemoryScope).
	AgentOnly bool
}

// ScopedStore confines every operation on a NamespaceStore to the private partition of one
// verified identity, and refuses answers of the store outside it. It is a boundary for the
// trusted application (keep the raw store away from agent tools), not a sandbox. Authorization
// is checked when an operation starts. It is safe for concurrent use when the store is.
type ScopedStore struct {
	store     NamespaceStore
	identity  IdentityContext
	scope     MemoryScope
	refresh   func(ctx context.Context) (IdentityContext, error)
	agentOnly bool
}

// maxMemoryKeyLen bounds a key, in characters: keys are identifiers, not content.
const maxMemoryKeyLen = 512

// NewScopedStore binds store to the partition of id: a refusal of id is a *MemoryIsolationError,
// a nil store an *InputError.
func NewScopedStore(store NamespaceStore, id IdentityContext, o ScopedStoreOptions) (*ScopedStore, error) {
	if store == nil {
		return nil, inputErr("store", "required", nil)
	}
	if err := id.verify(o.Refresh == nil, time.Time{}); err != nil {
		return nil, err
	}
	scope, err := id.scope(o.AgentOnly)
	if err != nil {
		return nil, err
	}
	return &ScopedStore{store: store, identity: id, scope: scope, refresh: o.Refresh, agentOnly: o.AgentOnly}, nil
}

// Scope returns the partition (metadata, never an authorization).
func (s *ScopedStore) Scope() MemoryScope {
	sc := s.scope
	sc.Namespace = slices.Clone(sc.Namespace)
	return sc
}

// namespace checks the caller's path, then that the identity is still verified (refreshed when
// a Refresh is set) and still has this partition.
func (s *ScopedStore) namespace(ctx context.Context, path []string) ([]string, error) {
	ns, err := s.scope.NamespaceFor(path...)
	if err != nil {
		return nil, err
	}
	id := s.identity
	if s.refresh == nil {
		err = id.verify(true, time.Time{})
	} else {
		started := time.Now()
		if id, err = s.refresh(ctx); err != nil {
			return nil, err
		}
		err = id.verify(false, started)
	}
	if err != nil {
		return nil, err
	}
	sc, err := id.scope(s.agentOnly)
	if err != nil {
		return nil, err
	}
	if sc.PartitionKey != s.scope.PartitionKey {
		return nil, memoryErr(MemoryIdentityChanged, "make a new ScopedStore for another identity")
	}
	return ns, nil
}

func checkMemoryKey(key string) error {
	if key == "" || utf8.RuneCountInString(key) > maxMemoryKeyLen {
		return inputErr("key", "must be 1 to 512 characters", nil)
	}
	return nil
}

func checkPage(limit, offset int) error {
	if limit < 0 || offset < 0 {
		return inputErr("limit", "limit and offset must not be negative (limit 0: the default)", nil)
	}
	return nil
}

func escapes(namespace, partition []string) bool {
	return len(namespace) < len(partition) || !slices.Equal(namespace[:len(partition)], partition)
}

func escaped(what string) error {
	return memoryErr(MemoryStoreScopeViolation, what+" escaped the requested partition")
}

// Get reads one item of the partition under path; nil when there is none.
func (s *ScopedStore) Get(ctx context.Context, path []string, key string) (*MemoryItem, error) {
	if err := checkMemoryKey(key); err != nil {
		return nil, err
	}
	ns, err := s.namespace(ctx, path)
	if err != nil {
		return nil, err
	}
	it, err := s.store.Get(ctx, ns, key)
	if err != nil || it == nil {
		return nil, err
	}
	if !slices.Equal(it.Namespace, ns) || it.Key != key {
		return nil, escaped("the item")
	}
	return it, nil
}

// Put writes one object-valued item into the partition under path.
func (s *ScopedStore) Put(ctx context.Context, path []string, key string, value map[string]any) error {
	if err := checkMemoryKey(key); err != nil {
		return err
	}
	if value == nil {
		return inputErr("value", "must be an object (a non-nil map)", nil)
	}
	ns, err := s.namespace(ctx, path)
	if err != nil {
		return err
	}
	return s.store.Put(ctx, ns, key, value)
}

// Delete removes one item of the partition under path.
func (s *ScopedStore) Delete(ctx context.Context, path []string, key string) error {
	if err := checkMemoryKey(key); err != nil {
		return err
	}
	ns, err := s.namespace(ctx, path)
	if err != nil {
		return err
	}
	return s.store.Delete(ctx, ns, key)
}

// Search searches the partition under path (Limit 0: 10); every result must lie in it.
func (s *ScopedStore) Search(ctx context.Context, path []string, q MemorySearch) ([]MemoryItem, error) {
	if err := checkPage(q.Limit, q.Offset); err != nil {
		return nil, err
	}
	if q.Limit == 0 {
		q.Limit = 10
	}
	ns, err := s.namespace(ctx, path)
	if err != nil {
		return nil, err
	}
	items, err := s.store.Search(ctx, ns, q)
	if err != nil {
		return nil, err
	}
	for _, it := range items {
		if escapes(it.Namespace, ns) {
			return nil, escaped("a search result")
		}
	}
	return items, nil
}

// ListNamespaces lists the namespaces of the partition under path (limit 0: 100); every one
// must lie in it.
func (s *ScopedStore) ListNamespaces(ctx context.Context, path []string, limit, offset int) ([][]string, error) {
	if err := checkPage(limit, offset); err != nil {
		return nil, err
	}
	if limit == 0 {
		limit = 100
	}
	ns, err := s.namespace(ctx, path)
	if err != nil {
		return nil, err
	}
	out, err := s.store.ListNamespaces(ctx, ns, limit, offset)
	if err != nil {
		return nil, err
	}
	for _, n := range out {
		if escapes(n, ns) {
			return nil, escaped("a namespace")
		}
	}
	return out, nil
}
