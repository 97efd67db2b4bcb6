package logline

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// formats are the two formats with slog's handler for each.
var formats = []struct {
	name string
	json bool
	slog func(*bytes.Buffer) slog.Handler
}{
	{"text", false, func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) }},
	{"json", true, func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) }},
}

// compare handles r with a Handler and with slog's handler, and fails t
// unless they wrote the same bytes.
func compare(t *testing.T, json bool, slogHandler func(*bytes.Buffer) slog.Handler, r slog.Record) {
	t.Helper()
	var got, want bytes.Buffer
	h, err := NewHandler(&got, HandlerOptions{JSON: json})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Handle(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	if err := slogHandler(&want).Handle(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	if got.String() != want.String() {
		t.Errorf("got  %q\nwant %q", got.String(), want.String())
	}
}

func TestHandlerWritesWhatSlogWrites(t *testing.T) {
	at := time.Date(2026, 12, 2, 5, 52, 38, 123456789, time.UTC)
	zoned := time.Date(2026, 3, 29, 1, 59, 59, 999000000, time.FixedZone("", 3600+1800))
	for _, tt := range []struct {
		name string
		rec  func() slog.Record
	}{
		{"seed line", func() slog.Record {
			r := slog.NewRecord(at, slog.LevelInfo, "consumed message", 0)
			r.AddAttrs(slog.String("id", "123"), slog.String("content", "Hello, Kafka!"),
				slog.String("topic", "messages"), slog.Int("partition", 2), slog.Int64("offset", 0))
			return r
		}},
		{"quotes and escapes", func() slog.Record {
			r := slog.NewRecord(zoned, slog.LevelWarn, `say "hi"`, 0)
			r.AddAttrs(slog.String("a", `back\slash`), slog.String("b", "tab\there"), slog.String("c", "x=y"),
				slog.String("d", ""), slog.String("e", "日本語"), slog.String("f", "\xff\xfe"), slog.String("g", "line\u2028sep"),
				slog.String("h", "del\x7f"), slog.String("i", "nb\u00a0sp"), slog.String("j", `"`))
			return r
		}},
		{"numbers and booleans", func() slog.Record {
			r := slog.NewRecord(at.Truncate(time.Second), slog.LevelError+2, "n", 0)
			r.AddAttrs(slog.Int64("min", -1<<63), slog.Uint64("max", 1<<64-1), slog.Bool("t", true), slog.Bool("f", false))
			return r
		}},
		{"no time", func() slog.Record {
			r := slog.NewRecord(time.Time{}, slog.LevelDebug, "m", 0)
			r.AddAttrs(slog.String("k", "v"))
			return r
		}},
		{"left to slog: other kinds", func() slog.Record {
			r := slog.NewRecord(at, slog.LevelInfo, "m", 0)
			r.AddAttrs(slog.Duration("d", time.Second), slog.Any("err", context.Canceled), slog.Group("g", slog.Int("x", 1)),
				slog.Float64("f", 1.5), slog.Time("t", at), slog.Any("m", map[string]int{"a": 1}))
			return r
		}},
		{"left to slog: an empty key", func() slog.Record {
			r := slog.NewRecord(at, slog.LevelInfo, "m", 0)
			r.AddAttrs(slog.String("", "v"), slog.Attr{})
			return r
		}},
		{"left to slog: a year JSON refuses", func() slog.Record {
			return slog.NewRecord(time.Date(12345, 1, 1, 0, 0, 0, 0, time.UTC), slog.LevelInfo, "m", 0)
		}},
	} {
		for _, f := range formats {
			t.Run(tt.name+"/"+f.name, func(t *testing.T) { compare(t, f.json, f.slog, tt.rec()) })
		}
	}
}

// FuzzHandler checks that, for any strings, integers and times, a Handler
// writes byte for byte what slog's handler writes.
func FuzzHandler(f *testing.F) {
	f.Add("consumed message", "123", "Hello, Kafka!", int64(1764654758), int64(123456789), int64(7), 0)
	f.Add("", "", "", int64(0), int64(0), int64(-1), 1)
	f.Add("a=b", `"q"`, "x\\y\n\t\r\x00\x1f\x7f", int64(-62135596800), int64(1), int64(1<<62), 2)
	f.Add("日本", "\xff", "\u2028\u2029\u00a0 ", int64(253402300799), int64(999999999), int64(0), 3)
	f.Fuzz(func(t *testing.T, msg, key, value string, sec, nsec, n int64, zone int) {
		at := time.Unix(sec, nsec).In(time.FixedZone("", (zone%48)*1800))
		r := slog.NewRecord(at, slog.Level(zone%16-4), msg, 0)
		r.AddAttrs(slog.String("id", key), slog.String("content", value), slog.Int64("offset", n))
		if key != "" {
			r.AddAttrs(slog.String(key, value), slog.Bool(value, n > 0))
		}
		for _, f := range formats {
			compare(t, f.json, f.slog, r)
		}
	})
}

// messageRecord is the record HandleMessage stands for.
func messageRecord(t time.Time, id, content string, size int, topic string, partition int32, offset int64) slog.Record {
	r := slog.NewRecord(t, slog.LevelInfo, "consumed message", 0)
	r.AddAttrs(slog.String("id", id), slog.String("content", content), slog.String("topic", topic),
		slog.Int("partition", int(partition)), slog.Int64("offset", offset))
	if size > len(content) {
		r.AddAttrs(slog.Int("content_bytes", size))
	}
	return r
}

// compareMessage fails t unless HandleMessage writes what slog's handler
// writes for the record it stands for.
func compareMessage(t *testing.T, json bool, slogHandler func(*bytes.Buffer) slog.Handler, at time.Time,
	id, content string, size int, topic string, partition int32, offset int64) {
	t.Helper()
	var got, want bytes.Buffer
	h, err := NewHandler(&got, HandlerOptions{JSON: json})
	if err != nil {
		t.Fatal(err)
	}
	ok, err := h.HandleMessage(at, []byte(id), []byte(content), size, topic, partition, offset)
	if err != nil {
		t.Fatal(err)
	}
	_ = slogHandler(&want).Handle(context.Background(), messageRecord(at, id, content, size, topic, partition, offset))
	if !ok {
		if y := at.Year(); !at.IsZero() && y >= 0 && y < 10000 {
			t.Fatalf("HandleMessage declined a record at %s", at)
		}
		return
	}
	if got.String() != want.String() {
		t.Errorf("got  %q\nwant %q", got.String(), want.String())
	}
}

func TestHandleMessage(t *testing.T) {
	at := time.Date(2026, 12, 2, 5, 52, 38, 120000000, time.Local)
	for _, tt := range []struct {
		name, id, content string
		size              int
	}{
		{"seed", "123", "Hello, Kafka!", 13},
		{"cut", "1", "abc", 300},
		{"plain", "abc-1", "backlog", 7},
		{"empty", "", "", 0},
		{"wide and quoted", "日本", `say "日本" \ now`, 20},
		{"invalid UTF-8", "\xff", "a\xfe b", 5},
	} {
		for _, f := range formats {
			t.Run(tt.name+"/"+f.name, func(t *testing.T) {
				compareMessage(t, f.json, f.slog, at, tt.id, tt.content, tt.size, "messages", 2, 7)
			})
		}
	}
	h, err := NewHandler(io.Discard, HandlerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := h.WithAttrs([]slog.Attr{slog.String("a", "b")}).(*Handler).HandleMessage(at, nil, nil, 0, "t", 0, 0); ok {
		t.Error("HandleMessage on a handler with attributes of its own")
	}
}

// FuzzHandleMessage checks that HandleMessage writes byte for byte what
// slog's handler writes for the record it stands for.
func FuzzHandleMessage(f *testing.F) {
	f.Add("123", "Hello, Kafka!", 13, "messages", int32(2), int64(0), int64(1764654758), int64(5))
	f.Add("", "\u2028\x00", 300, "a b", int32(-1), int64(-1), int64(-62135596800), int64(0))
	f.Fuzz(func(t *testing.T, id, content string, size int, topic string, partition int32, offset, sec, nsec int64) {
		at := time.Unix(sec, nsec)
		for _, f := range formats {
			compareMessage(t, f.json, f.slog, at, id, content, size, topic, partition, offset)
		}
	})
}

func TestHandlerWithAttrsAndGroups(t *testing.T) {
	at := time.Date(2026, 12, 2, 5, 52, 38, 0, time.UTC)
	for _, f := range formats {
		t.Run(f.name, func(t *testing.T) {
			var got, want bytes.Buffer
			h, err := NewHandler(&got, HandlerOptions{JSON: f.json})
			if err != nil {
				t.Fatal(err)
			}
			r := slog.NewRecord(at, slog.LevelInfo, "m", 0)
			r.AddAttrs(slog.String("k", "v"))
			_ = h.WithAttrs([]slog.Attr{slog.String("client", "consumer")}).WithGroup("g").Handle(context.Background(), r)
			_ = f.slog(&want).WithAttrs([]slog.Attr{slog.String("client", "consumer")}).WithGroup("g").Handle(context.Background(), r)
			if got.String() != want.String() {
				t.Errorf("got  %q\nwant %q", got.String(), want.String())
			}
		})
	}
}

func TestHandlerLevel(t *testing.T) {
	var buf bytes.Buffer
	h, err := NewHandler(&buf, HandlerOptions{Level: slog.LevelWarn})
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(h)
	logger.Info("quiet")
	logger.Warn("loud")
	if got := buf.String(); strings.Contains(got, "quiet") || !strings.Contains(got, "level=WARN msg=loud") {
		t.Errorf("logged %q", got)
	}
}

// BenchmarkHandler compares a Handler with slog's on the consumer's line,
// both writing to memory.
func BenchmarkHandler(b *testing.B) {
	content := strings.Repeat("abcdefghij", 19)
	for _, f := range formats {
		for _, impl := range []string{"logline", "slog"} {
			b.Run(f.name+"/"+impl, func(b *testing.B) {
				var buf bytes.Buffer
				var h slog.Handler = f.slog(&buf)
				if impl == "logline" {
					h, _ = NewHandler(&buf, HandlerOptions{JSON: f.json})
				}
				ctx := context.Background()
				b.ReportAllocs()
				for b.Loop() {
					if buf.Len() > 1<<20 {
						buf.Reset()
					}
					r := slog.NewRecord(time.Now(), slog.LevelInfo, "consumed message", 0)
					r.AddAttrs(slog.String("id", "123456"), slog.String("content", content),
						slog.String("topic", "messages"), slog.Int("partition", 2), slog.Int64("offset", 123456))
					_ = h.Handle(ctx, r)
				}
			})
		}
	}
}
