package signing

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReplayCacheRefusesReuse(t *testing.T) {
	c := NewReplayCache(time.Minute, 100)
	now := time.Unix(1_800_000_000, 0)
	require.NoError(t, c.Check("app", vecNonce, now, now))
	require.ErrorIs(t, c.Check("app", vecNonce, now, now.Add(30*time.Second)), ErrReplayed)
	require.NoError(t, c.Check("other-app", vecNonce, now, now), "nonces are per scope")
	require.ErrorIs(t, c.Check("app", "n2", now.Add(-2*time.Minute), now), ErrStale)
}

// Expiry runs in synctest's virtual clock: the nonce is held exactly while its timestamp is
// inside the window, then forgotten.
func TestReplayCacheExpiresAfterWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := NewReplayCache(time.Minute, 100)
		ts := time.Now().Truncate(time.Second)
		require.NoError(t, c.Check("app", vecNonce, ts, time.Now()))
		time.Sleep(time.Minute)
		require.ErrorIs(t, c.Check("app", vecNonce, ts, time.Now()), ErrReplayed, "still inside the window")
		time.Sleep(time.Second)
		// The old timestamp is now stale (Verify refuses it); a new one with the same nonce
		// is a different signed request.
		require.ErrorIs(t, c.Check("app", vecNonce, ts, time.Now()), ErrStale)
		require.NoError(t, c.Check("app", vecNonce, time.Now(), time.Now()))
		for i := range 10 {
			require.NoError(t, c.Check("app", fmt.Sprint(i), time.Now(), time.Now()))
		}
		time.Sleep(2 * time.Minute)
		for i := range 3 {
			require.NoError(t, c.Check("app", fmt.Sprint("late", i), time.Now(), time.Now()))
		}
		assert.Equal(t, 3, c.Len(), "expired entries evicted")
	})
}

func TestReplayCacheCapacity(t *testing.T) {
	c := NewReplayCache(time.Hour, 3)
	now := time.Unix(1_800_000_000, 0)
	for i := range 10 {
		require.NoError(t, c.Check("app", fmt.Sprint(i), now, now))
		assert.LessOrEqual(t, c.Len(), 3)
	}
	for _, n := range []string{"7", "8", "9"} {
		require.ErrorIs(t, c.Check("app", n, now, now), ErrReplayed, "newest kept")
	}
	require.NoError(t, c.Check("app", "0", now, now), "oldest forgotten first")
	assert.Equal(t, 3, c.Len())
	assert.Equal(t, 1, NewReplayCache(time.Hour, 0).capacity)
}

// TestReplayCacheSmallUntilUsed: memory follows use, not capacity, so that a vault holding many
// keys used a few times each (derived keys, agents of a test suite) stays small.
func TestReplayCacheSmallUntilUsed(t *testing.T) {
	const n = 1000
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	caches := make([]*ReplayCache, n)
	now := time.Unix(1_800_000_000, 0)
	for i := range caches {
		caches[i] = NewReplayCache(time.Minute, 100_000)
		require.NoError(t, caches[i].Check("key", NewNonce(), now, now))
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := (int64(after.HeapAlloc) - int64(before.HeapAlloc)) / n
	t.Logf("%d bytes per cache holding one nonce", per)
	assert.Less(t, per, int64(2048))
	runtime.KeepAlive(caches)
}

func TestReplayCacheConcurrent(t *testing.T) {
	c := NewReplayCache(time.Minute, 1<<12)
	now := time.Unix(1_800_000_000, 0)
	var wg sync.WaitGroup
	var mu sync.Mutex
	accepted := 0
	for range 8 {
		wg.Go(func() {
			for i := range 200 {
				if c.Check("app", fmt.Sprint(i), now, now) == nil {
					mu.Lock()
					accepted++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	assert.Equal(t, 200, accepted, "each nonce accepted exactly once")
}
