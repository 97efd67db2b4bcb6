// Package cursor encodes a position in a topic, the next offset of each
// of its partitions, as a short URL-safe string that any node can resume
// from without server-side state.
package cursor

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"math"
	"slices"
)

// version is the first byte of every cursor this package writes.
const version = 1

// ErrMalformed is returned when a string is not a cursor Encode writes.
var ErrMalformed = errors.New("malformed cursor")

// Encode returns the cursor of offsets, the next offset by partition: a
// version byte, the partition count as a uvarint, then each partition and
// its offset as uvarints in partition order, all in base64url without
// padding. Negative partitions or offsets are left out.
func Encode(offsets map[int32]int64) string {
	parts := make([]int32, 0, len(offsets))
	for p, o := range offsets {
		if p >= 0 && o >= 0 {
			parts = append(parts, p)
		}
	}
	slices.Sort(parts)
	b := make([]byte, 0, 1+binary.MaxVarintLen64*(1+2*len(parts)))
	b = append(b, version)
	b = binary.AppendUvarint(b, uint64(len(parts)))
	for _, p := range parts {
		b = binary.AppendUvarint(b, uint64(p))
		b = binary.AppendUvarint(b, uint64(offsets[p]))
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// Decode returns the offsets of cursor s, or an error wrapping
// ErrMalformed.
//
// Invariants (FuzzCursor): it never panics; on success every partition
// and offset is non-negative, and Encode of the result is s itself (a
// cursor has one spelling: partitions strictly increasing, varints
// minimal, no bytes after the last pair).
func Decode(s string) (map[int32]int64, error) {
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, errors.Join(ErrMalformed, err)
	}
	// The decoder skips line breaks: a string with any is not one spelling.
	if base64.RawURLEncoding.EncodedLen(len(b)) != len(s) {
		return nil, errors.Join(ErrMalformed, errors.New("characters outside base64url"))
	}
	if len(b) == 0 || b[0] != version {
		return nil, errors.Join(ErrMalformed, errors.New("unknown cursor version"))
	}
	b = b[1:]
	n, b, err := uvarint(b, math.MaxInt32)
	if err != nil {
		return nil, err
	}
	// Each pair takes at least two bytes: n is bounded by the input.
	if n > uint64(len(b)/2) {
		return nil, errors.Join(ErrMalformed, errors.New("more partitions than bytes"))
	}
	offsets := make(map[int32]int64, n)
	prev := int64(-1)
	for range n {
		var p, o uint64
		if p, b, err = uvarint(b, math.MaxInt32); err != nil {
			return nil, err
		}
		if int64(p) <= prev {
			return nil, errors.Join(ErrMalformed, errors.New("partitions out of order"))
		}
		prev = int64(p)
		if o, b, err = uvarint(b, math.MaxInt64); err != nil {
			return nil, err
		}
		offsets[int32(p)] = int64(o)
	}
	if len(b) > 0 {
		return nil, errors.Join(ErrMalformed, errors.New("bytes after the last partition"))
	}
	return offsets, nil
}

// uvarint reads one minimally encoded uvarint of at most max from b and
// returns it and the rest of b.
func uvarint(b []byte, max uint64) (uint64, []byte, error) {
	v, n := binary.Uvarint(b)
	switch {
	case n <= 0:
		return 0, nil, errors.Join(ErrMalformed, errors.New("truncated or overlong number"))
	case v > max:
		return 0, nil, errors.Join(ErrMalformed, errors.New("number out of range"))
	case n > 1 && b[n-1] == 0:
		return 0, nil, errors.Join(ErrMalformed, errors.New("number not minimally encoded"))
	}
	return v, b[n:], nil
}
