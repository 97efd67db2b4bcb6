package admin

import "sort"

// Page is one page of a list sorted by key (a topic name, a group id), as
// the paged list methods return it. Ask for the first page with after ""
// and for each next one with the previous page's Next; limit bounds the
// items of a page, and 0 or anything above the Admin's MaxListItems means
// MaxListItems.
type Page[T any] struct {
	Items []T
	// Next is the key to pass as after for the following page (the key of
	// the last item) when more items follow, or "" on the last page.
	Next string
}

// pageKeys returns the keys of sorted that come after after, at most limit
// of them, and the Next of their page.
func pageKeys(sorted []string, after string, limit int) (keys []string, next string) {
	i := 0
	if after != "" {
		i = sort.SearchStrings(sorted, after)
		if i < len(sorted) && sorted[i] == after {
			i++
		}
	}
	keys = sorted[i:]
	if len(keys) > limit {
		keys = keys[:limit]
		next = keys[limit-1]
	}
	return keys, next
}

// pageLimit returns the items a page may hold when the caller asks for
// limit.
func (a *Admin) pageLimit(limit int) int {
	if limit <= 0 || limit > a.maxList {
		return a.maxList
	}
	return limit
}
