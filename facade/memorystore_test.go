package facade_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/altersdk/alter-go/facade"
	"github.com/altersdk/alter-go/vaulttest"
)

// mapStore is a NamespaceStore in a map, the way an application would wrap Redis or Postgres.
type mapStore struct {
	mu    sync.Mutex
	items map[string]facade.MemoryItem // by namespace "/" key
}

func newMapStore() *mapStore { return &mapStore{items: map[string]facade.MemoryItem{}} }

func itemPath(ns []string, key string) string { return strings.Join(ns, "/") + "//" + key }

func (m *mapStore) Get(_ context.Context, ns []string, key string) (*facade.MemoryItem, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	it, ok := m.items[itemPath(ns, key)]
	if !ok {
		return nil, nil
	}
	return &it, nil
}

func (m *mapStore) Put(_ context.Context, ns []string, key string, v map[string]any) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.items[itemPath(ns, key)] = facade.MemoryItem{Namespace: slices.Clone(ns), Key: key, Value: v}
	return nil
}

func (m *mapStore) Delete(_ context.Context, ns []string, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.items, itemPath(ns, key))
	return nil
}

func (m *mapStore) Search(_ context.Context, prefix []string, q facade.MemorySearch) ([]facade.MemoryItem, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []facade.MemoryItem
	for _, it := range m.items {
		if len(it.Namespace) >= len(prefix) && slices.Equal(it.Namespace[:len(prefix)], prefix) {
			out = append(out, it)
		}
	}
	slices.SortFunc(out, func(a, b facade.MemoryItem) int {
		return strings.Compare(itemPath(a.Namespace, a.Key), itemPath(b.Namespace, b.Key))
	})
	return out[min(q.Offset, len(out)):min(q.Offset+q.Limit, len(out))], nil
}

func (m *mapStore) ListNamespaces(ctx context.Context, prefix []string, limit, offset int) ([][]string, error) {
	items, _ := m.Search(ctx, prefix, facade.MemorySearch{Limit: 1 << 30})
	var out [][]string
	for _, it := range items {
		if !slices.ContainsFunc(out, func(n []string) bool { return slices.Equal(n, it.Namespace) }) {
			out = append(out, it.Namespace)
		}
	}
	return out[min(offset, len(out)):min(offset+limit, len(out))], nil
}

// leakyStore answers from outside the partition it was asked about.
type leakyStore struct{ mapStore }

func (l *leakyStore) Get(_ context.Context, _ []string, key string) (*facade.MemoryItem, error) {
	return &facade.MemoryItem{Namespace: []string{"other"}, Key: key}, nil
}

func (l *leakyStore) Search(context.Context, []string, facade.MemorySearch) ([]facade.MemoryItem, error) {
	return []facade.MemoryItem{{Namespace: []string{"alter"}, Key: "k"}}, nil
}

func (l *leakyStore) ListNamespaces(context.Context, []string, int, int) ([][]string, error) {
	return [][]string{{"alter", "v2"}}, nil
}

type vaultAgent struct {
	s     *vaulttest.Server
	d     vaulttest.Demo
	agent *facade.Agent
}

func newVaultAgent(t *testing.T) vaultAgent {
	s := vaulttest.NewTestServer(t)
	d := vaulttest.SeedDemo(s)
	agent, err := facade.NewAgent(d.Agent.APIKey, facade.WithBaseURL(s.URL()))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, agent.Close()) })
	return vaultAgent{s: s, d: d, agent: agent}
}

func TestScopedStore(t *testing.T) {
	v := newVaultAgent(t)
	ctx := context.Background()
	alice := facade.ResolveIdentityParams{AppUserID: v.d.User.AppUserID.String()}
	refresh := func(ctx context.Context) (facade.IdentityContext, error) { return v.agent.ResolveIdentity(ctx, alice) }
	id, err := refresh(ctx)
	require.NoError(t, err)

	_, err = facade.NewScopedStore(newMapStore(), id, facade.ScopedStoreOptions{})
	require.ErrorIs(t, err, facade.MemoryLiveRefreshRequired, "a resolved snapshot needs a refresh")
	_, err = facade.NewScopedStore(newMapStore(), facade.IdentityContext{AppID: id.AppID}, facade.ScopedStoreOptions{Refresh: refresh})
	require.ErrorIs(t, err, facade.MemoryIdentityUnverified)

	raw := newMapStore()
	st, err := facade.NewScopedStore(raw, id, facade.ScopedStoreOptions{Refresh: refresh})
	require.NoError(t, err)
	require.NoError(t, st.Put(ctx, []string{"notes"}, "k1", map[string]any{"text": "hi"}))
	require.NoError(t, st.Put(ctx, []string{"notes", "2026"}, "k2", map[string]any{"text": "yo"}))
	it, err := st.Get(ctx, []string{"notes"}, "k1")
	require.NoError(t, err)
	assert.Equal(t, "hi", it.Value["text"])
	want, _ := st.Scope().NamespaceFor("notes")
	assert.Equal(t, want, it.Namespace, "stored under the partition")
	missing, err := st.Get(ctx, nil, "nope")
	require.NoError(t, err)
	assert.Nil(t, missing)
	found, err := st.Search(ctx, []string{"notes"}, facade.MemorySearch{})
	require.NoError(t, err)
	assert.Len(t, found, 2)
	nss, err := st.ListNamespaces(ctx, nil, 0, 0)
	require.NoError(t, err)
	assert.Len(t, nss, 2)
	require.NoError(t, st.Delete(ctx, []string{"notes"}, "k1"))
	gone, err := st.Get(ctx, []string{"notes"}, "k1")
	require.NoError(t, err)
	assert.Nil(t, gone)
	sc := st.Scope()
	sc.Namespace[0] = "changed"
	assert.Equal(t, "alter", st.Scope().Namespace[0], "Scope returns a copy")

	t.Run("caller mistakes are input errors", func(t *testing.T) {
		require.ErrorIs(t, st.Put(ctx, nil, "", map[string]any{}), facade.ErrInvalidInput)
		require.ErrorIs(t, st.Put(ctx, nil, strings.Repeat("k", 513), map[string]any{}), facade.ErrInvalidInput)
		require.ErrorIs(t, st.Put(ctx, nil, "k", nil), facade.ErrInvalidInput)
		require.ErrorIs(t, st.Put(ctx, []string{""}, "k", map[string]any{}), facade.ErrInvalidInput)
		_, err := st.Search(ctx, nil, facade.MemorySearch{Limit: -1})
		require.ErrorIs(t, err, facade.ErrInvalidInput)
		_, err = st.ListNamespaces(ctx, nil, 0, -1)
		require.ErrorIs(t, err, facade.ErrInvalidInput)
		_, err = facade.NewScopedStore(nil, id, facade.ScopedStoreOptions{Refresh: refresh})
		require.ErrorIs(t, err, facade.ErrInvalidInput)
	})
	t.Run("a memoised refresh is refused", func(t *testing.T) {
		cached := func(context.Context) (facade.IdentityContext, error) { return id, nil }
		st, err := facade.NewScopedStore(newMapStore(), id, facade.ScopedStoreOptions{Refresh: cached})
		require.NoError(t, err)
		require.ErrorIs(t, st.Put(ctx, nil, "k", map[string]any{}), facade.MemoryRefreshNotLive)
	})
	t.Run("a refresh to another identity is refused", func(t *testing.T) {
		bot, err := facade.NewAgent(v.s.AddAgent("other-bot").APIKey, facade.WithBaseURL(v.s.URL()))
		require.NoError(t, err)
		defer bot.Close()
		other := func(ctx context.Context) (facade.IdentityContext, error) {
			return bot.ResolveIdentity(ctx, facade.ResolveIdentityParams{UserToken: v.d.User.Token})
		}
		st, err := facade.NewScopedStore(newMapStore(), id, facade.ScopedStoreOptions{Refresh: other})
		require.NoError(t, err)
		_, err = st.Get(ctx, nil, "k")
		require.ErrorIs(t, err, facade.MemoryIdentityChanged)
	})
	t.Run("a refresh error is returned as it is", func(t *testing.T) {
		failing := func(context.Context) (facade.IdentityContext, error) {
			return facade.IdentityContext{}, context.Canceled
		}
		st, err := facade.NewScopedStore(newMapStore(), id, facade.ScopedStoreOptions{Refresh: failing})
		require.NoError(t, err)
		require.ErrorIs(t, st.Delete(ctx, nil, "k"), context.Canceled)
	})
	t.Run("answers outside the partition are refused", func(t *testing.T) {
		st, err := facade.NewScopedStore(&leakyStore{}, id, facade.ScopedStoreOptions{Refresh: refresh})
		require.NoError(t, err)
		_, err = st.Get(ctx, nil, "k")
		require.ErrorIs(t, err, facade.MemoryStoreScopeViolation)
		_, err = st.Search(ctx, nil, facade.MemorySearch{})
		require.ErrorIs(t, err, facade.MemoryStoreScopeViolation)
		_, err = st.ListNamespaces(ctx, nil, 0, 0)
		require.ErrorIs(t, err, facade.MemoryStoreScopeViolation)
	})
	t.Run("an assertion-backed identity needs no refresh", func(t *testing.T) {
		a, err := v.agent.AssertIdentity(ctx, facade.AssertIdentityParams{Audience: "urn:memory", AppUserID: alice.AppUserID})
		require.NoError(t, err)
		st, err := facade.NewScopedStore(raw, a.Identity, facade.ScopedStoreOptions{})
		require.NoError(t, err)
		it, err := st.Get(ctx, []string{"notes", "2026"}, "k2")
		require.NoError(t, err)
		require.NotNil(t, it, "the same partition as the resolved identity")
		_, err = facade.NewScopedStore(raw, a.Identity, facade.ScopedStoreOptions{AgentOnly: true})
		require.ErrorIs(t, err, facade.MemoryUserCannotBeDropped)
	})
}
