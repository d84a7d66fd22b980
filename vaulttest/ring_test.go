package vaulttest

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestRingKeepsTheNewest(t *testing.T) {
	r := newRing[int](3)
	var dropped []int
	r.drop = func(v int) { dropped = append(dropped, v) }
	for i := range 7 {
		r.push(i)
	}
	assert.Equal(t, []int{4, 5, 6}, r.all())
	assert.Equal(t, []int{0, 1, 2, 3}, dropped)
	r.reset()
	assert.Empty(t, r.all())
	r.push(9)
	assert.Equal(t, []int{9}, r.all())
}

// A byte budget drops as many old values as it takes, and never the newest one.
func TestRingByteBudget(t *testing.T) {
	r := newBudgetRing(100, 10, func(s string) int64 { return int64(len(s)) })
	for _, s := range []string{"aaa", "bbb", "ccc"} {
		r.push(s)
	}
	assert.Equal(t, []string{"aaa", "bbb", "ccc"}, r.all(), "9 bytes: within the budget")
	r.push("dddddd")
	assert.Equal(t, []string{"ccc", "dddddd"}, r.all())
	r.push("a value over the budget on its own")
	assert.Equal(t, []string{"a value over the budget on its own"}, r.all(), "the newest is kept")
	r.push("e")
	assert.Equal(t, []string{"e"}, r.all())
	assert.EqualValues(t, 1, r.bytes)
}
