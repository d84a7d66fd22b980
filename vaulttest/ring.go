package vaulttest

// ring keeps the newest cap values pushed: a log that costs the same per entry however long the
// server runs.
type ring[T any] struct {
	buf   []T
	start int // index of the oldest value once full
	cap   int
}

func newRing[T any](capacity int) *ring[T] { return &ring[T]{cap: capacity} }

// push adds v, and returns the oldest value when it had to make room for v.
func (r *ring[T]) push(v T) (evicted T, full bool) {
	if len(r.buf) < r.cap {
		r.buf = append(r.buf, v)
		return evicted, false
	}
	evicted = r.buf[r.start]
	r.buf[r.start] = v
	r.start = (r.start + 1) % r.cap
	return evicted, true
}

// all copies the values out, oldest first.
func (r *ring[T]) all() []T {
	out := make([]T, 0, len(r.buf))
	out = append(out, r.buf[r.start:]...)
	return append(out, r.buf[:r.start]...)
}

func (r *ring[T]) reset() { r.buf, r.start = nil, 0 }
