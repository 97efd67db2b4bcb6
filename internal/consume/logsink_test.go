package consume

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"krest/internal/logline"
	"krest/internal/message"
)

func TestLogSink(t *testing.T) {
	for _, tt := range []struct {
		name, value string
		wantErr     bool
	}{
		{"message", `{"id":"1","content":"hi"}`, false},
		{"extra fields are fine", `{"id":"1","content":"hi","at":3}`, false},
		{"not JSON", `not json`, true},
		{"null", `null`, true},
		{"array", `[1]`, true},
		{"id missing", `{"content":"hi"}`, true},
		{"content not a string", `{"id":"1","content":5}`, true},
	} {
		for _, level := range []slog.Level{slog.LevelInfo, slog.LevelWarn} {
			t.Run(tt.name+"/"+level.String(), func(t *testing.T) {
				var logs bytes.Buffer
				s := LogSink{Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: level}))}
				err := s.Handle(context.Background(), &kgo.Record{Topic: "m", Partition: 1, Offset: 7, Value: []byte(tt.value)})
				if tt.wantErr {
					if !errors.Is(err, ErrUndecodable) {
						t.Errorf("got %v, want ErrUndecodable", err)
					}
					if logs.Len() != 0 {
						t.Errorf("logged %q for a bad record", logs.String())
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				want := `msg="consumed message" id=1 content=hi topic=m partition=1 offset=7` + "\n"
				if level > slog.LevelInfo {
					want = ""
				}
				if got := logs.String(); !strings.HasSuffix(got, want) || (want == "" && got != "") {
					t.Errorf("logged %q, want %q", got, want)
				}
			})
		}
	}
}

// handlers are slog's text handler and krest's, whose own path for
// LogSink's line must write the same.
var handlers = []struct {
	name string
	new  func(*testing.T, *bytes.Buffer) slog.Handler
}{
	{"slog", func(_ *testing.T, b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) }},
	{"logline", func(t *testing.T, b *bytes.Buffer) slog.Handler {
		h, err := logline.NewHandler(b, logline.HandlerOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return h
	}},
}

func TestLogSinkTruncates(t *testing.T) {
	for _, tt := range []struct {
		name    string
		content string
		limit   int
		want    string // the line from content= on
	}{
		{"under the limit", "abc", 3, `content=abc topic=m partition=0 offset=0`},
		{"over the limit", "abcdef", 4, `content=abcd topic=m partition=0 offset=0 content_bytes=6`},
		{"default limit", strings.Repeat("a", 300), 0,
			`content=` + strings.Repeat("a", 256) + ` topic=m partition=0 offset=0 content_bytes=300`},
		// é is two bytes; cutting between them would log invalid UTF-8.
		{"on a character boundary", "abcé", 4, `content=abc topic=m partition=0 offset=0 content_bytes=5`},
		{"a wide character at the start", "日本", 2, `content="" topic=m partition=0 offset=0 content_bytes=6`},
		{"quoted content", `say "hi" there`, 8, `content="say \"hi\"" topic=m partition=0 offset=0 content_bytes=14`},
	} {
		for _, h := range handlers {
			t.Run(tt.name+"/"+h.name, func(t *testing.T) {
				var logs bytes.Buffer
				s := LogSink{Logger: slog.New(h.new(t, &logs)), MaxContentBytes: tt.limit}
				r := &kgo.Record{Topic: "m", Value: message.Encode("1", tt.content)}
				if err := s.Handle(context.Background(), r); err != nil {
					t.Fatal(err)
				}
				if want := ` level=INFO msg="consumed message" id=1 ` + tt.want + "\n"; !strings.HasSuffix(logs.String(), want) {
					t.Errorf("logged %q\nwant      %q", logs.String(), want)
				}
			})
		}
	}
}

// flushCounter counts flushes.
type flushCounter int

func (f *flushCounter) Flush() error { *f++; return nil }

func TestLogSinkFlush(t *testing.T) {
	if err := (LogSink{}).Flush(); err != nil {
		t.Errorf("Flush without Output: %v", err)
	}
	var f flushCounter
	if err := (LogSink{Output: &f}).Flush(); err != nil || f != 1 {
		t.Errorf("Flush: %v, %d flushes of Output", err, f)
	}
}

// TestLogSinkAllocations: a valid message costs no allocation below info,
// nor at info through krest's handler.
func TestLogSinkAllocations(t *testing.T) {
	w, err := logline.NewWriter(io.Discard, logline.WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	h, err := logline.NewHandler(w, logline.HandlerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r := &kgo.Record{Topic: "m", Value: message.Encode("1", "hello, world")}
	for _, tt := range []struct {
		name string
		h    slog.Handler
	}{
		{"warn", slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelWarn})},
		{"info through logline", h},
	} {
		s := LogSink{Logger: slog.New(tt.h)}
		if n := testing.AllocsPerRun(100, func() { _ = s.Handle(context.Background(), r) }); n != 0 {
			t.Errorf("%s: %v allocations per record", tt.name, n)
		}
	}
}
