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

// writeProduced answers 201 {"status":"message produced","id","topic",
// "partition","offset"} for r, written by hand as encode would: this is the
// hot path.
func writeProduced(w http.ResponseWriter, id string, r *kgo.Record) {
	b := make([]byte, 0, 96+len(id)+len(r.Topic))
	b = message.AppendString(append(b, `{"status":"message produced","id":`...), id)
	b = message.AppendString(append(b, `,"topic":`...), r.Topic)
	b = strconv.AppendInt(append(b, `,"partition":`...), int64(r.Partition), 10)
	b = strconv.AppendInt(append(b, `,"offset":`...), r.Offset, 10)
	b = append(b, "}\n"...)
	w.Header()["Content-Type"] = []string{"application/json"}
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write(b) // a write error is a gone client, with no one left to tell
}

// handleMessages produces one message to topic and answers 201 once the
// broker acknowledged it. A missing or empty id is generated.
func handleMessages(p producer, topic string, maxBody int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		buf, err := readBody(w, r, maxBody)
		if err != nil {
			writeError(w, err)
			return
		}
		id, content, err := parseMessage(buf.Bytes())
		putBuffer(buf)
		if err != nil {
			writeError(w, err)
			return
		}
		if id == "" {
			id = newID()
		}
		res := p.Produce(r.Context(), &kgo.Record{Topic: topic, Key: []byte(id), Value: message.Encode(id, content)})[0]
		if res.Err != nil {
			writeError(w, res.Err)
			return
		}
		writeProduced(w, id, res.Record)
	})
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
