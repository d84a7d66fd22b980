package signing

import (
	"crypto/sha256"
	"encoding/binary"
	"sync"
	"time"
)

// evictBudget bounds the expired entries one Check removes, so every Check costs O(1) even
// after a long pause. Removing more than one per Check drains expired entries faster than
// Checks add them; an expired entry still present is ignored on lookup, so lateness never
// lets a replay through nor refuses a fresh request.
const evictBudget = 4

// ReplayCache remembers the nonces of verified requests while their timestamps stay inside the
// acceptance window, so a captured request cannot be sent again. It holds at most capacity
// entries: when full, the oldest entry is forgotten first. Every Check is O(1) (a map lookup
// plus a bounded number of evictions from a ring kept in arrival order); it is safe for
// concurrent use. An entry is a fixed-size digest of (scope, nonce) and two integers, with no
// pointer: a full cache of a busy key costs about 80 bytes a nonce and nothing to the garbage
// collector, which never scans pointer-free memory.
type ReplayCache struct {
	window   time.Duration
	capacity int

	mu   sync.Mutex
	seen map[replayKey]replayEntry
	ring []ringSlot // arrival order, oldest at head
	head int
	n    int
	seq  uint64
}

// replayKey is the first 16 bytes of SHA-256(len(scope) ‖ scope ‖ nonce): an accidental
// collision (a fresh nonce refused) is as likely as guessing a 128-bit value.
type replayKey [16]byte

func keyOf(scope, nonce string) replayKey {
	var buf [128]byte // scope (a key id) and nonce (32 hex) fit: no allocation
	b := binary.AppendUvarint(buf[:0], uint64(len(scope)))
	b = append(append(b, scope...), nonce...)
	sum := sha256.Sum256(b)
	return replayKey(sum[:16])
}

// replayEntry is the live record of a key; seq tells it from an older ring slot of the same key.
type replayEntry struct {
	expires int64 // last Unix second at which the timestamp is still inside the window
	seq     uint64
}

type ringSlot struct {
	key     replayKey
	expires int64
	seq     uint64
}

// NewReplayCache returns a cache for nonces whose timestamps are accepted within ±window,
// holding at most capacity entries (a capacity below 1 is taken as 1).
func NewReplayCache(window time.Duration, capacity int) *ReplayCache {
	capacity = max(capacity, 1)
	return &ReplayCache{
		window:   window,
		capacity: capacity,
		seen:     make(map[replayKey]replayEntry), // grows with use: a key used once costs little
		ring:     make([]ringSlot, min(capacity, 8)),
	}
}

// Check records nonce for scope (the API key, say) with its request timestamp ts and reports
// [ErrReplayed] when the pair was recorded before and ts of that first use is still inside the
// window at now. A ts outside ±window of now is refused with [ErrStale], since the cache
// cannot vouch for nonces it no longer holds.
func (c *ReplayCache) Check(scope, nonce string, ts, now time.Time) error {
	secs := ts.Unix()
	if !withinWindow(secs, now, c.window) {
		return ErrStale
	}
	expires := saturatingAdd(secs, max(int64(c.window/time.Second), 0))
	nowSecs := now.Unix()
	k := keyOf(scope, nonce)

	c.mu.Lock()
	defer c.mu.Unlock()
	for i := 0; i < evictBudget && c.n > 0 && c.ring[c.head].expires < nowSecs; i++ {
		c.popHead()
	}
	if e, ok := c.seen[k]; ok && e.expires >= nowSecs {
		return ErrReplayed
	}
	if c.n == c.capacity {
		c.popHead()
	}
	c.push(ringSlot{key: k, expires: expires, seq: c.seq})
	c.seen[k] = replayEntry{expires: expires, seq: c.seq}
	c.seq++
	return nil
}

// Len returns the number of nonces held, expired ones not yet evicted included.
func (c *ReplayCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

func (c *ReplayCache) popHead() {
	s := c.ring[c.head]
	if e, ok := c.seen[s.key]; ok && e.seq == s.seq {
		delete(c.seen, s.key)
	}
	c.head = (c.head + 1) % len(c.ring)
	c.n--
}

func (c *ReplayCache) push(s ringSlot) {
	if c.n == len(c.ring) {
		c.grow()
	}
	c.ring[(c.head+c.n)%len(c.ring)] = s
	c.n++
}

// grow doubles the ring up to capacity, so a large capacity costs memory only when used.
func (c *ReplayCache) grow() {
	next := make([]ringSlot, min(2*len(c.ring), c.capacity))
	for i := range c.n {
		next[i] = c.ring[(c.head+i)%len(c.ring)]
	}
	c.ring, c.head = next, 0
}

func saturatingAdd(a, b int64) int64 {
	if b > 0 && a > (1<<63-1)-b {
		return 1<<63 - 1
	}
	return a + b
}
