// Package logline writes krest's log lines: slog's text or JSON format,
// byte for byte, formatted without slog's generic machinery for the records
// krest logs most, through a Writer that turns many lines into one system
// call.
package logline

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"
)

// HandlerOptions configure a Handler.
type HandlerOptions struct {
	// JSON selects slog's JSON format; otherwise the text format.
	JSON bool
	// Level is the lowest level handled. Default slog.LevelInfo.
	Level slog.Leveler
}

// Handler is a slog.Handler that writes exactly what slog.TextHandler or
// slog.JSONHandler with only a Level option would. It formats a record
// itself when every attribute is a string, an integer or a boolean with a
// key, and the handler has no attributes or groups of its own (those come
// from slog's handler); any other record goes to slog's handler on the same
// writer. After a record at warn level or above it flushes the writer, if
// the writer has a Flush method (as Writer has).
type Handler struct {
	w     io.Writer
	flush func() error
	json  bool
	level slog.Leveler
	slow  slog.Handler
	fast  bool
	clock *clock
	msg   *messageParts
}

// messageParts are the constant pieces of HandleMessage's line in the
// handler's format, and the last topic written, formatted.
type messageParts struct {
	time, level, content, topic, partition, offset, size, end string

	lastTopic atomic.Pointer[[2]string] // topic, and as formatted
}

var _ slog.Handler = (*Handler)(nil)

// NewHandler returns a Handler writing to w.
func NewHandler(w io.Writer, opts HandlerOptions) (*Handler, error) {
	if w == nil {
		return nil, errors.New("log handler needs a writer")
	}
	if opts.Level == nil {
		opts.Level = slog.LevelInfo
	}
	h := &Handler{w: w, json: opts.JSON, level: opts.Level, fast: true, clock: &clock{}}
	part := func(key string, first bool) string { return string(h.appendKey(nil, key, !first)) }
	h.msg = &messageParts{
		time:      part(slog.TimeKey, true),
		level:     part(slog.LevelKey, false),
		content:   part("content", false),
		topic:     part("topic", false),
		partition: part("partition", false),
		offset:    part("offset", false),
		size:      part("content_bytes", false),
		end:       "\n",
	}
	// After the level key: the level, the message and the id key.
	h.msg.level += string(h.appendKey(h.appendString(h.appendKey(h.appendString(nil, slog.LevelInfo.String()),
		slog.MessageKey, true), "consumed message"), "id", true))
	if opts.JSON {
		h.msg.time, h.msg.end = "{"+h.msg.time, "}\n"
	}
	if f, ok := w.(interface{ Flush() error }); ok {
		h.flush = f.Flush
	}
	sopts := &slog.HandlerOptions{Level: opts.Level}
	if opts.JSON {
		h.slow = slog.NewJSONHandler(w, sopts)
	} else {
		h.slow = slog.NewTextHandler(w, sopts)
	}
	return h, nil
}

// Enabled reports whether level is at or above the handler's.
func (h *Handler) Enabled(_ context.Context, level slog.Level) bool {
	return level >= h.level.Level()
}

// WithAttrs returns a Handler whose records carry attrs; slog's handler
// formats them.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	h2 := *h
	h2.slow, h2.fast = h.slow.WithAttrs(attrs), false
	return &h2
}

// WithGroup returns a Handler whose attributes are in group name; slog's
// handler formats them.
func (h *Handler) WithGroup(name string) slog.Handler {
	h2 := *h
	h2.slow, h2.fast = h.slow.WithGroup(name), false
	return &h2
}

// Handle writes r as one line, then flushes the writer if r is a warning
// or an error.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	err := h.write(ctx, r)
	if r.Level >= slog.LevelWarn && h.flush != nil {
		if ferr := h.flush(); err == nil {
			err = ferr
		}
	}
	return err
}

// bufPool holds line buffers; lines longer than maxPooled are not kept.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

const maxPooled = 16 << 10

func (h *Handler) write(ctx context.Context, r slog.Record) error {
	if h.fast {
		if ok, err := h.writeLine(func(b []byte) ([]byte, bool) { return h.appendRecord(b, r) }); ok {
			return err
		}
	}
	return h.slow.Handle(ctx, r)
}

// writeLine writes the line appendLine appends, unless appendLine reports
// false: in place in a Writer's buffer, or through a pooled one.
func (h *Handler) writeLine(appendLine func([]byte) ([]byte, bool)) (bool, error) {
	if w, ok := h.w.(*Writer); ok {
		return w.appendLine(appendLine)
	}
	bp := bufPool.Get().(*[]byte)
	b, ok := appendLine((*bp)[:0])
	var err error
	if ok {
		_, err = h.w.Write(b)
	}
	if cap(b) <= maxPooled {
		*bp = b
		bufPool.Put(bp)
	}
	return ok, err
}

// HandleMessage writes the consumer's line for a record of topic,
// partition and offset holding a message: exactly what Handle writes for
// a slog.Record at t, info level, "consumed message", with attributes
// id=string(id), content=string(content), topic, partition and offset,
// and content_bytes=size after them when size is more than len(content).
// It costs none of the record's building and copies. It reports false,
// having written nothing, when the handler has attributes or groups of its
// own, or t is zero or in a year slog's JSON handler refuses: then use
// Handle.
func (h *Handler) HandleMessage(t time.Time, id, content []byte, size int, topic string, partition int32, offset int64) (bool, error) {
	if !h.fast {
		return false, nil
	}
	if t.IsZero() {
		return false, nil
	}
	m := h.msg
	return h.writeLine(func(b []byte) ([]byte, bool) {
		b, ok := h.clock.appendTime(append(b, m.time...), t, h.json)
		if !ok {
			return b, false
		}
		b = appendText(h, append(b, m.level...), id)
		b = appendText(h, append(b, m.content...), content)
		b = append(append(b, m.topic...), m.formatTopic(h, topic)...)
		b = strconv.AppendInt(append(b, m.partition...), int64(partition), 10)
		b = strconv.AppendInt(append(b, m.offset...), offset, 10)
		if size > len(content) {
			b = strconv.AppendInt(append(b, m.size...), int64(size), 10)
		}
		return append(b, m.end...), true
	})
}

// formatTopic returns topic as h writes it, formatting it only when it
// is not the last one.
func (m *messageParts) formatTopic(h *Handler, topic string) string {
	if last := m.lastTopic.Load(); last != nil && last[0] == topic {
		return last[1]
	}
	f := string(h.appendString(nil, topic))
	m.lastTopic.Store(&[2]string{topic, f})
	return f
}

// appendRecord appends r's line to b as slog's handler would write it, or
// reports false for a record it leaves to slog.
func (h *Handler) appendRecord(b []byte, r slog.Record) ([]byte, bool) {
	b, ok := h.appendHeader(b, r.Time, r.Level, r.Message)
	if !ok {
		return b, false
	}
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "" {
			ok = false
			return false
		}
		switch v := a.Value; v.Kind() {
		case slog.KindString:
			b = h.appendString(h.appendKey(b, a.Key, true), v.String())
		case slog.KindInt64:
			b = strconv.AppendInt(h.appendKey(b, a.Key, true), v.Int64(), 10)
		case slog.KindUint64:
			b = strconv.AppendUint(h.appendKey(b, a.Key, true), v.Uint64(), 10)
		case slog.KindBool:
			b = strconv.AppendBool(h.appendKey(b, a.Key, true), v.Bool())
		default:
			ok = false
		}
		return ok
	})
	if !ok {
		return b, false
	}
	if h.json {
		b = append(b, '}')
	}
	return append(b, '\n'), true
}

// appendHeader appends the built-in attributes: time, level and message.
func (h *Handler) appendHeader(b []byte, t time.Time, level slog.Level, msg string) ([]byte, bool) {
	if h.json {
		b = append(b, '{')
	}
	if !t.IsZero() {
		b = h.appendKey(b, slog.TimeKey, false)
		var ok bool
		if b, ok = h.clock.appendTime(b, t, h.json); !ok {
			return b, false
		}
		b = h.appendKey(b, slog.LevelKey, true)
	} else {
		b = h.appendKey(b, slog.LevelKey, false)
	}
	b = h.appendString(b, level.String())
	b = h.appendKey(b, slog.MessageKey, true)
	return h.appendString(b, msg), true
}

func (h *Handler) appendKey(b []byte, key string, sep bool) []byte {
	if h.json {
		if sep {
			b = append(b, ',')
		}
		return append(h.appendString(b, key), ':')
	}
	if sep {
		b = append(b, ' ')
	}
	return append(h.appendString(b, key), '=')
}

func (h *Handler) appendString(b []byte, s string) []byte { return appendText(h, b, s) }

// appendText appends s as a string value of h's format.
func appendText[S text](h *Handler, b []byte, s S) []byte {
	if h.json {
		b = append(b, '"')
		return append(appendEscapedJSON(b, s), '"')
	}
	if !needsQuoting(s) {
		return append(b, s...)
	}
	return appendQuoted(b, s)
}

// text is what the formatting helpers take: a string, or its bytes.
type text interface{ ~string | ~[]byte }

// decodeRune is utf8.DecodeRuneInString for s[i:].
func decodeRune[S text](s S, i int) (rune, int) {
	// At most four bytes, converted on the stack.
	return utf8.DecodeRuneInString(string(s[i:min(i+utf8.UTFMax, len(s))]))
}

// quoteSet marks the ASCII bytes that make slog's text format quote a
// string: control characters, space, '"' and '='.
var quoteSet = func() (set [utf8.RuneSelf]bool) {
	for c := range 0x20 {
		set[c] = true
	}
	set[' '], set['"'], set['='] = true, true, true
	return set
}()

// needsQuoting is slog's text-format rule, skipping eight plain ASCII bytes
// at a time.
func needsQuoting[S text](s S) bool {
	if len(s) == 0 {
		return true
	}
	for i := 0; i < len(s); {
		if i+8 <= len(s) {
			// Below '!': a control character or a space.
			if x := load8(s, i); (x|below(x, '!')|equal(x, '"')|equal(x, '='))&msb == 0 {
				i += 8
				continue
			}
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if quoteSet[c] {
				return true
			}
			i++
			continue
		}
		r, size := decodeRune(s, i)
		if r == utf8.RuneError || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return true
		}
		i += size
	}
	return false
}

// appendQuoted appends strconv.Quote(s): for printable ASCII, which is
// most text, by copying runs; for anything else through strconv.
func appendQuoted[S text](b []byte, s S) []byte {
	for i := 0; i < len(s); i++ {
		if i+8 <= len(s) {
			if x := load8(s, i); (x|below(x, ' ')|equal(x, 0x7f))&msb == 0 {
				i += 7
				continue
			}
		}
		if c := s[i]; c < ' ' || c > '~' {
			return strconv.AppendQuote(b, string(s))
		}
	}
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		if i+8 <= len(s) {
			if x := load8(s, i); (equal(x, '"')|equal(x, '\\'))&msb == 0 {
				i += 7
				continue
			}
		}
		if c := s[i]; c == '"' || c == '\\' {
			b = append(append(b, s[start:i]...), '\\', c)
			start = i + 1
		}
	}
	return append(append(b, s[start:]...), '"')
}

// Eight bytes at a time: x holds s[i:i+8], s[i] lowest. below and equal
// set the high bit of some byte exactly when some byte of x matches
// (though not necessarily of that byte), so several tests OR together
// and one look at msb answers them all; x's own high bits mark non-ASCII.
const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

func load8[S text](s S, i int) uint64 {
	s = s[i:]
	_ = s[7] // one bounds check; the compiler makes the rest one load
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// below marks x if a byte of x is below n (n at most 128).
func below(x uint64, n byte) uint64 { return (x - lsb*uint64(n)) &^ x }

// equal marks x if a byte of x is c.
func equal(x uint64, c byte) uint64 {
	y := x ^ (lsb * uint64(c))
	return (y - lsb) &^ y
}

// jsonSafe marks the ASCII bytes JSON strings hold as they are: all but
// control characters, '"' and '\'.
var jsonSafe = func() (set [utf8.RuneSelf]bool) {
	for c := ' '; c < utf8.RuneSelf; c++ {
		set[c] = true
	}
	set['"'], set['\\'] = false, false
	return set
}()

const hex = "0123456789abcdef"

// appendEscapedJSON escapes s as slog's JSON handler does (encoding/json
// without HTML escaping), without the quotes.
func appendEscapedJSON[S text](b []byte, s S) []byte {
	start := 0
	for i := 0; i < len(s); {
		if i+8 <= len(s) {
			if x := load8(s, i); (x|below(x, ' ')|equal(x, '"')|equal(x, '\\'))&msb == 0 {
				i += 8
				continue
			}
		}
		if c := s[i]; c < utf8.RuneSelf {
			if jsonSafe[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := decodeRune(s, i)
		if r == utf8.RuneError && size == 1 {
			b = append(append(b, s[start:i]...), `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(append(b, s[start:i]...), '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(b, s[start:]...)
}

// clock formats record times, formatting the date, time and zone once per
// second.
type clock struct {
	last atomic.Pointer[second]
}

type second struct {
	unix int64
	loc  *time.Location
	date string // 2006-01-02T15:04:05
	zone string // Z07:00
	ok   bool   // a four-digit year, as RFC 3339 needs
}

// appendTime appends t as slog's text format (milliseconds) or JSON format
// (RFC 3339 with nanoseconds, quoted) writes it, or reports false for a
// year slog's JSON handler rejects.
func (c *clock) appendTime(b []byte, t time.Time, json bool) ([]byte, bool) {
	s := c.last.Load()
	if s == nil || s.unix != t.Unix() || s.loc != t.Location() {
		f := t.Format("2006-01-02T15:04:05Z07:00")
		y := t.Year()
		s = &second{unix: t.Unix(), loc: t.Location(), ok: y >= 0 && y < 10000 && len(f) > 19}
		if s.ok {
			s.date, s.zone = f[:19], f[19:]
		}
		c.last.Store(s)
	}
	if !s.ok {
		return b, false
	}
	ns := t.Nanosecond()
	if !json {
		ms := ns / 1e6
		b = append(b, s.date...)
		b = append(b, '.', byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10))
		return append(b, s.zone...), true
	}
	b = append(b, '"')
	b = append(b, s.date...)
	if ns != 0 {
		var digits [10]byte
		digits[0] = '.'
		for i, n := 9, ns; i > 0; i, n = i-1, n/10 {
			digits[i] = byte('0' + n%10)
		}
		end := 10
		for digits[end-1] == '0' {
			end--
		}
		b = append(b, digits[:end]...)
	}
	b = append(b, s.zone...)
	return append(b, '"'), true
}
