package consume

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/twmb/franz-go/pkg/kgo"

	"krest/internal/message"
)

// ErrUndecodable is returned by LogSink for a record whose value is not a
// message {"id": string, "content": string}.
var ErrUndecodable = errors.New("record value is not a message")

// LogSink is the default Handler: it decodes each record as a message and
// logs it at info level as "consumed message" with id, content, topic,
// partition and offset.
type LogSink struct {
	Logger *slog.Logger
}

var _ Handler = LogSink{}

type messageFields struct {
	ID      *string `json:"id"`
	Content *string `json:"content"`
}

// Handle logs r, or returns ErrUndecodable.
func (s LogSink) Handle(ctx context.Context, r *kgo.Record) error {
	id, content, err := decode(r.Value)
	if err != nil {
		return err
	}
	s.Logger.LogAttrs(ctx, slog.LevelInfo, "consumed message",
		slog.String("id", id), slog.String("content", content),
		slog.String("topic", r.Topic), slog.Int("partition", int(r.Partition)), slog.Int64("offset", r.Offset))
	return nil
}

// decode reads a message value: krest's own compact form without
// reflection, anything else through encoding/json.
func decode(value []byte) (id, content string, err error) {
	if id, content, ok := message.Parse(value); ok {
		return id, content, nil
	}
	var m messageFields
	if err := json.Unmarshal(value, &m); err != nil {
		return "", "", fmt.Errorf("%w: %v", ErrUndecodable, err)
	}
	if m.ID == nil || m.Content == nil {
		return "", "", fmt.Errorf("%w: id and content must both be present", ErrUndecodable)
	}
	return *m.ID, *m.Content, nil
}
