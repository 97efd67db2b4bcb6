package api

import (
	"bytes"
	"net/url"
	"strings"
)

// router finds the route of a request path among the patterns of routes.go.
// A pattern is a path of literal segments and wildcards ("{topic_name}");
// at each segment a literal match is preferred over a wildcard, so
// "/topics/-/configs" wins over "/topics/{topic_name}/configs", as in
// net/http's ServeMux. Wildcard values are unescaped per segment, so an
// escaped "/" stays inside its value.
type router struct {
	root node
}

// node is one segment position of the pattern tree.
type node struct {
	literal  map[string]*node
	wildcard *node
	routes   []*route // the routes ending here, one per method
}

// maxSegments bounds the path segments a request may have: more than any
// route's, so a longer path is simply not found.
const maxSegments = 16

// add registers r under its pattern.
func (t *router) add(r *route) {
	n := &t.root
	for _, seg := range splitPattern(r.pattern) {
		if strings.HasPrefix(seg, "{") {
			if n.wildcard == nil {
				n.wildcard = &node{}
			}
			n = n.wildcard
			continue
		}
		if n.literal == nil {
			n.literal = map[string]*node{}
		}
		next := n.literal[seg]
		if next == nil {
			next = &node{}
			n.literal[seg] = next
		}
		n = next
	}
	n.routes = append(n.routes, r)
}

// splitPattern returns a pattern's segments; "/" has none.
func splitPattern(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

// match returns the routes of path (one per method; empty when no pattern
// matches) and fills values with the wildcard values in pattern order. path
// is the raw (still escaped) path of the request, without its query; a
// segment that does not unescape matches no wildcard.
func (t *router) match(path []byte, values *[maxSegments]string) []*route {
	var segs [maxSegments][]byte
	n := 0
	if len(path) == 0 || path[0] != '/' {
		return nil
	}
	rest := path[1:]
	if len(rest) > 0 {
		for {
			if n == maxSegments {
				return nil
			}
			i := bytes.IndexByte(rest, '/')
			if i < 0 {
				segs[n] = rest
				n++
				break
			}
			segs[n] = rest[:i]
			n++
			rest = rest[i+1:]
		}
	}
	found := t.root.match(segs[:n], values, 0)
	if found == nil {
		return nil
	}
	return found.routes
}

// match walks segs from n, literal segments first, and returns the node
// whose routes the path ends at; k counts the wildcard values set.
func (n *node) match(segs [][]byte, values *[maxSegments]string, k int) *node {
	if len(segs) == 0 {
		if len(n.routes) == 0 {
			return nil
		}
		return n
	}
	seg := segs[0]
	if next := n.literal[string(seg)]; next != nil { // no allocation: the map key is converted in place
		if found := next.match(segs[1:], values, k); found != nil {
			return found
		}
	}
	if n.wildcard == nil || len(seg) == 0 {
		return nil
	}
	v, ok := unescapeSegment(seg)
	if !ok {
		return nil
	}
	values[k] = v
	return n.wildcard.match(segs[1:], values, k+1)
}

// unescapeSegment returns seg with its %XX escapes decoded, as net/http's
// PathValue does.
func unescapeSegment(seg []byte) (string, bool) {
	if bytes.IndexByte(seg, '%') < 0 {
		return string(seg), true
	}
	s, err := url.PathUnescape(string(seg))
	return s, err == nil
}

// wildcards returns the names of a pattern's wildcards, in order.
func wildcards(pattern string) []string {
	var names []string
	for _, seg := range splitPattern(pattern) {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			names = append(names, seg[1:len(seg)-1])
		}
	}
	return names
}
