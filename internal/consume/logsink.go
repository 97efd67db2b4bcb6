package consume

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"
	"unicode/utf8"

	"github.com/twmb/franz-go/pkg/kgo"

	"krest/internal/message"
)

// DefaultMaxContentBytes is LogSink.MaxContentBytes when unset.
const DefaultMaxContentBytes = 256

// LogSink is the default Handler: it decodes each record as a message and
// logs it at info level as
//
//	msg="consumed message" id=… content=… topic=… partition=… offset=…
//
// with content cut to MaxContentBytes, and then content_bytes=<full size>
// after the offset.
type LogSink struct {
	// Logger receives the lines. Records that are not messages fail at any
	// level; below info the valid ones cost no allocation.
	Logger *slog.Logger
	// MaxContentBytes bounds the content logged for one message: longer
	// content is cut at the last UTF-8 character boundary at or before it.
	// Default DefaultMaxContentBytes.
	MaxContentBytes int
	// Output, if set, holds Logger's lines in a buffer: LogSink's Flush
	// flushes it, which the Group does before committing what was logged.
	Output Flusher
}

var (
	_ Handler = LogSink{}
	_ Flusher = LogSink{}
)

// messageHandler is a slog.Handler that writes the "consumed message"
// line from the record's bytes, exactly as it would write the slog.Record
// Handle builds otherwise, with none of its cost; logline.Handler is one.
type messageHandler interface {
	HandleMessage(t time.Time, id, content []byte, size int, topic string, partition int32, offset int64) (bool, error)
}

type messageFields struct {
	ID      *string `json:"id"`
	Content *string `json:"content"`
}

// Handle logs r, or returns ErrUndecodable.
func (s LogSink) Handle(ctx context.Context, r *kgo.Record) error {
	h := s.Logger.Handler()
	if !h.Enabled(ctx, slog.LevelInfo) {
		_, _, err := decode(r.Value)
		return err
	}
	id, content, err := decode(r.Value)
	if err != nil {
		return err
	}
	limit := s.MaxContentBytes
	if limit <= 0 {
		limit = DefaultMaxContentBytes
	}
	shown := truncate(content, limit)
	if m, ok := h.(messageHandler); ok {
		if ok, _ := m.HandleMessage(time.Now(), id, shown, len(content), r.Topic, r.Partition, r.Offset); ok {
			return nil
		}
	}
	// One copy holds both strings.
	var buf [512]byte
	both := string(append(append(buf[:0], id...), shown...))
	// The record goes to the handler directly, without the caller's
	// program counter, which slog.Logger would look up for each line.
	rec := slog.NewRecord(time.Now(), slog.LevelInfo, "consumed message", 0)
	rec.AddAttrs(slog.String("id", both[:len(id)]), slog.String("content", both[len(id):]),
		slog.String("topic", r.Topic), slog.Int("partition", int(r.Partition)), slog.Int64("offset", r.Offset))
	if len(shown) < len(content) {
		rec.AddAttrs(slog.Int("content_bytes", len(content)))
	}
	_ = h.Handle(ctx, rec) // as slog.Logger does, a failed log write is not the record's failure
	return nil
}

// Flush flushes Output.
func (s LogSink) Flush() error {
	if s.Output == nil {
		return nil
	}
	return s.Output.Flush()
}

// truncate cuts b to at most limit bytes without splitting a UTF-8
// character.
func truncate(b []byte, limit int) []byte {
	if len(b) <= limit {
		return b
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(b[cut]) {
		cut--
	}
	return b[:cut]
}

// decode reads a message value: krest's own compact form without
// reflection or copies, anything else through encoding/json.
func decode(value []byte) (id, content []byte, err error) {
	if id, content, ok := message.ParseBytes(value); ok {
		return id, content, nil
	}
	var m messageFields
	if err := json.Unmarshal(value, &m); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrUndecodable, err)
	}
	if m.ID == nil || m.Content == nil {
		return nil, nil, fmt.Errorf("%w: id and content must both be present", ErrUndecodable)
	}
	return []byte(*m.ID), []byte(*m.Content), nil
}
