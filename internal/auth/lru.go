package auth

import "container/list"

// lru is a map of at most max entries that forgets the least recently used
// one to make room. It is not safe for concurrent use: its owner locks.
type lru[K comparable, V any] struct {
	max   int
	order *list.List // front: most recently used; values are *lruEntry
	items map[K]*list.Element
}

type lruEntry[K comparable, V any] struct {
	key K
	val V
}

func newLRU[K comparable, V any](max int) *lru[K, V] {
	return &lru[K, V]{max: max, order: list.New(), items: make(map[K]*list.Element)}
}

// get returns k's value and marks it used.
func (c *lru[K, V]) get(k K) (V, bool) {
	e, ok := c.items[k]
	if !ok {
		var zero V
		return zero, false
	}
	c.order.MoveToFront(e)
	return e.Value.(*lruEntry[K, V]).val, true
}

// add sets k's value, marks it used, and evicts the least recently used
// entry when there are more than max.
func (c *lru[K, V]) add(k K, v V) {
	if e, ok := c.items[k]; ok {
		e.Value.(*lruEntry[K, V]).val = v
		c.order.MoveToFront(e)
		return
	}
	c.items[k] = c.order.PushFront(&lruEntry[K, V]{key: k, val: v})
	if c.order.Len() > c.max {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		delete(c.items, oldest.Value.(*lruEntry[K, V]).key)
	}
}

// remove forgets k.
func (c *lru[K, V]) remove(k K) {
	if e, ok := c.items[k]; ok {
		c.order.Remove(e)
		delete(c.items, k)
	}
}

// clear forgets every entry.
func (c *lru[K, V]) clear() {
	c.order.Init()
	clear(c.items)
}

// len returns the number of entries.
func (c *lru[K, V]) len() int { return c.order.Len() }
