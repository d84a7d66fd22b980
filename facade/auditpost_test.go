package facade

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
)

// counts reports the running workers and the queued records of p.
func (p *auditPoster) counts() (workers, queued int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.workers, len(p.queue) - p.head
}

func job() auditJob {
	return auditJob{parent: context.Background(), post: func(context.Context) {}, deadline: time.Now().Add(auditTimeout)}
}

// At most maxAuditWorkers posts run at once, the rest wait, every record is posted once, and
// the workers exit as soon as the queue is empty (synctest.Test also fails if any is left).
func TestAuditPosterBoundsWorkersAndLetsThemGo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		var mu sync.Mutex
		var posted []byte
		var inFlight, maxInFlight atomic.Int32
		p := newAuditPoster(func(ctx context.Context, j auditJob) {
			n := inFlight.Add(1)
			for m := maxInFlight.Load(); n > m && !maxInFlight.CompareAndSwap(m, n); m = maxInFlight.Load() {
			}
			<-release
			inFlight.Add(-1)
			j.post(ctx)
		})
		mkjob := func(i int) auditJob {
			j := job()
			j.post = func(context.Context) {
				mu.Lock()
				posted = append(posted, byte(i))
				mu.Unlock()
			}
			return j
		}
		const n = 100
		for i := range n {
			require.True(t, p.submit(mkjob(i)))
		}
		synctest.Wait()
		w, queued := p.counts()
		require.Equal(t, maxAuditWorkers, w)
		require.Equal(t, n-maxAuditWorkers, queued)
		require.Equal(t, int32(maxAuditWorkers), inFlight.Load())

		close(release)
		synctest.Wait()
		slices.Sort(posted)
		for i, b := range posted {
			require.Equal(t, byte(i), b, "every record posted once")
		}
		require.Len(t, posted, n)
		require.Equal(t, int32(maxAuditWorkers), maxInFlight.Load())
		w, _ = p.counts()
		require.Zero(t, w, "no worker waits for more")

		// The next record starts a worker again.
		require.True(t, p.submit(mkjob(1)))
		synctest.Wait()
		require.Len(t, posted, n+1)
		require.True(t, p.close(time.Second))
	})
}

// close posts what is queued, refuses new records, and cancels posts still running after the
// drain time.
func TestAuditPosterClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var posted atomic.Int32
		p := newAuditPoster(func(ctx context.Context, j auditJob) {
			time.Sleep(time.Second)
			posted.Add(1)
		})
		for range 3 * maxAuditWorkers {
			p.submit(job())
		}
		start := time.Now()
		require.True(t, p.close(5*time.Second), "three rounds of one-second posts drain in time")
		require.Equal(t, 3*time.Second, time.Since(start))
		require.Equal(t, int32(3*maxAuditWorkers), posted.Load())
		require.False(t, p.submit(job()), "refused after close")
		require.True(t, p.close(time.Second), "idempotent")
	})

	synctest.Test(t, func(t *testing.T) {
		var cancelled atomic.Int32
		p := newAuditPoster(func(ctx context.Context, j auditJob) {
			<-ctx.Done() // a vault that never answers
			if ctx.Err() == context.Canceled {
				cancelled.Add(1)
			}
		})
		p.submit(job())
		p.submit(job())
		start := time.Now()
		require.False(t, p.close(5*time.Second))
		require.Equal(t, 5*time.Second, time.Since(start))
		require.Equal(t, int32(2), cancelled.Load())
	})
}

// A record's time limit runs from the call, not from when a worker takes it.
func TestAuditPosterDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		type seen struct {
			deadline time.Time
			err      error
		}
		got := make(chan seen, 1)
		p := newAuditPoster(func(ctx context.Context, j auditJob) {
			dl, _ := ctx.Deadline()
			got <- seen{dl, ctx.Err()}
		})
		j := job()
		j.deadline = time.Now().Add(-time.Second)
		p.submit(j)
		s := <-got
		require.Equal(t, j.deadline, s.deadline)
		require.ErrorIs(t, s.err, context.DeadlineExceeded)
		p.close(time.Second)
	})
}

// Bursts that fill every worker, each followed by one record submitted at the instant the
// workers finish (virtual time): every record is posted, no worker is left, and the count of
// running workers comes back to zero. Whether submit lands between a worker's empty check and
// its exit depends on scheduling; the two share one lock, so it cannot strand a record.
func TestAuditPosterBurstsAndARecordAsTheWorkersFinish(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var posted atomic.Int32
		p := newAuditPoster(func(context.Context, auditJob) {
			time.Sleep(time.Second)
			posted.Add(1)
		})
		const rounds = 50
		for i := range rounds {
			for range maxAuditWorkers {
				p.submit(job())
			}
			time.Sleep(time.Second) // wakes with the workers' posts ending
			p.submit(job())
			time.Sleep(time.Second)
			synctest.Wait()
			w, queued := p.counts()
			require.Zero(t, queued, "round %d: a record was stranded", i)
			require.Zero(t, w)
			require.Equal(t, int32((i+1)*(maxAuditWorkers+1)), posted.Load())
		}
		require.True(t, p.close(time.Second))
	})
}

// Under steady load the queue never empties; its array stays the size of what waits, not of
// everything that went through it.
func TestAuditPosterQueueStaysSmallUnderSteadyLoad(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		p := newAuditPoster(func(context.Context, auditJob) { <-release })
		for range maxAuditWorkers + 10 { // every worker busy, 10 waiting
			p.submit(job())
		}
		for range 10_000 {
			release <- struct{}{} // one post ends; its worker takes the next record
			p.submit(job())
		}
		synctest.Wait()
		p.mu.Lock()
		waiting, capacity := len(p.queue)-p.head, cap(p.queue)
		p.mu.Unlock()
		require.Equal(t, 10, waiting)
		require.LessOrEqual(t, capacity, 2*(maxAuditWorkers+10)) // the first burst, rounded up by append
		close(release)
		require.True(t, p.close(time.Second))
	})
}
