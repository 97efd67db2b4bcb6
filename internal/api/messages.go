package api

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strconv"

	"github.com/twmb/franz-go/pkg/kgo"

	"krest/internal/message"
)

// messageBody is the body of POST /api/messages; re-encoded by
// message.Encode, it is the value of the record it produces (key = ID).
type messageBody struct {
	ID      string  `json:"id"`
	Content *string `json:"content"`
}

// appendProduced appends 201's body {"status":"message produced","id",
// "topic","partition","offset"} for r to b, written by hand as encode would:
// this is the hot path.
func appendProduced(b []byte, id string, r *kgo.Record) []byte {
	b = message.AppendString(append(b, `{"status":"message produced","id":`...), id)
	b = message.AppendString(append(b, `,"topic":`...), r.Topic)
	b = strconv.AppendInt(append(b, `,"partition":`...), int64(r.Partition), 10)
	b = strconv.AppendInt(append(b, `,"offset":`...), r.Offset, 10)
	return append(b, "}\n"...)
}

// messages produces one message to the seed route's topic and answers 201
// once the broker acknowledged it. A missing or empty id is generated.
func (h *handlers) messages(c *call) (int, any, error) {
	body, err := jsonBody(c)
	if err != nil {
		return 0, nil, err
	}
	id, content, err := parseMessage(body)
	if err != nil {
		return 0, nil, err
	}
	if id == "" {
		id = newID()
	}
	res := c.p.Produce(c.ctx, &kgo.Record{Topic: h.topic, Key: []byte(id), Value: message.Encode(id, content)})[0]
	if res.Err != nil {
		return 0, nil, res.Err
	}
	c.fctx.SetContentType("application/json")
	c.fctx.SetStatusCode(http.StatusCreated)
	var buf [256]byte
	c.fctx.SetBody(appendProduced(buf[:0], id, res.Record))
	return answered, nil, nil
}

// parseMessage reads a message body: the compact form without reflection,
// anything else strictly through encoding/json.
func parseMessage(body []byte) (id, content string, err error) {
	if id, content, ok := message.Parse(body); ok {
		return id, content, nil
	}
	var m messageBody
	if err := unmarshalStrict(body, &m); err != nil {
		return "", "", err
	}
	if m.Content == nil {
		return "", "", &apiError{http.StatusBadRequest, codeInvalidField, "field content is required"}
	}
	return m.ID, *m.Content, nil
}

// newID returns a random UUID (version 4).
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}
