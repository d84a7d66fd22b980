package facade

import (
	"context"
	"iter"
)

// Page is one page of an offset-paginated list (agents, grants).
type Page[T any] struct {
	Items   []T  // this page
	Total   int  // rows matching
	Limit   int  // page size used
	Offset  int  // rows skipped
	HasMore bool // more rows follow
}

// AgentPage is a page of agents.
type AgentPage = Page[AgentInfo]

// GrantPage is a page of grants.
type GrantPage = Page[Grant]

// pageLimit checks a page request and returns the page size to send (0 asks for 100).
func pageLimit(limit, offset int) (int, error) {
	if limit < 0 || limit > 1000 {
		return 0, inputErr("Limit", "must be between 1 and 1000 (0 for the default)", nil)
	}
	if offset < 0 {
		return 0, inputErr("Offset", "must not be negative", nil)
	}
	if limit == 0 {
		return 100, nil
	}
	return limit, nil
}

// pageRequest is the parameters of an offset-paginated list: at moves them to another offset.
type pageRequest[P any] interface{ at(offset int) P }

// allPages walks offset-paginated pages of list from offset. An empty page ends the walk even if
// the vault said has_more, so a misbehaving server cannot make it loop forever.
func allPages[P pageRequest[P], T any](
	ctx context.Context, p P, offset int, list func(context.Context, P) (Page[T], error),
) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for {
			pg, err := list(ctx, p.at(offset))
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, it := range pg.Items {
				if !yield(it, nil) {
					return
				}
			}
			if !pg.HasMore || len(pg.Items) == 0 {
				return
			}
			offset += len(pg.Items)
		}
	}
}
