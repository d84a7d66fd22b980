package vaulttest

// ring keeps the newest values pushed, at most cap of them and, with a budget, at most budget
// bytes of them as size counts them (the newest value is always kept): a log that costs the same
// per entry however long the server runs, and whose memory stays bounded whatever the entries
// carry.
type ring[T any] struct {
	buf      []T // circular; grows up to cap
	start, n int // the oldest value's index, and how many are held
	cap      int
	budget   int64         // 0: no byte bound
	size     func(T) int64 // with a budget
	bytes    int64
	drop     func(T) // called with each value pushed out; nil: none
}

func newRing[T any](capacity int) *ring[T] { return &ring[T]{cap: max(capacity, 1)} }

// newBudgetRing is newRing that also keeps at most budget bytes (budget ≤ 0: none).
func newBudgetRing[T any](capacity int, budget int64, size func(T) int64) *ring[T] {
	r := newRing[T](capacity)
	if budget > 0 {
		r.budget, r.size = budget, size
	}
	return r
}

// push adds v, dropping the oldest values it has to make room for.
func (r *ring[T]) push(v T) {
	if r.n == r.cap {
		r.pop()
	}
	if r.n == len(r.buf) {
		r.grow()
	}
	r.buf[(r.start+r.n)%len(r.buf)] = v
	r.n++
	if r.budget > 0 {
		r.bytes += r.size(v)
		for r.bytes > r.budget && r.n > 1 {
			r.pop()
		}
	}
}

func (r *ring[T]) pop() {
	var zero T
	v := r.buf[r.start]
	r.buf[r.start] = zero // let the collector have it
	r.start = (r.start + 1) % len(r.buf)
	r.n--
	if r.budget > 0 {
		r.bytes -= r.size(v)
	}
	if r.drop != nil {
		r.drop(v)
	}
}

// grow doubles the buffer up to cap, so that a large cap costs memory only when used.
func (r *ring[T]) grow() {
	next := make([]T, min(max(2*len(r.buf), 16), r.cap))
	for i := range r.n {
		next[i] = r.buf[(r.start+i)%len(r.buf)]
	}
	r.buf, r.start = next, 0
}

// all copies the values out, oldest first.
func (r *ring[T]) all() []T {
	out := make([]T, r.n)
	for i := range r.n {
		out[i] = r.buf[(r.start+i)%len(r.buf)]
	}
	return out
}

// reset forgets every value (drop is not called).
func (r *ring[T]) reset() { r.buf, r.start, r.n, r.bytes = nil, 0, 0, 0 }
