package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"krest/internal/admin"
	"krest/internal/consumers"
)

// API v2 consumer instances: POST /consumers/{group_name} creates one on
// this node, and the routes under …/instances/{instance} subscribe or
// assign it, move its positions, read its records and commit its
// offsets, as Confluent REST Proxy serves them. consumers.Manager holds
// the instances.

// consumerRegistry holds the consumer instances of this node;
// consumers.Manager implements it.
type consumerRegistry interface {
	Create(group, name string, cfg consumers.Config) (*consumers.Instance, error)
	Get(group, id string) (*consumers.Instance, error)
	Delete(ctx context.Context, group, id string) error
}

var _ consumerRegistry = (*consumers.Manager)(nil)

// Bounds of a read of records.
const (
	// maxReadBytes bounds max_bytes, and is its default: the keys and
	// values of one read's answer.
	maxReadBytes = 8 << 20
	// readIDHeader names a read: a retried read of the same id on the
	// same instance answers the same batch. It takes what X-Request-Id
	// takes.
	readIDHeader = "X-Krest-Read-Id"
)

// Error codes of the consumer routes, as upstream answers them.
const (
	codeInstanceNotFound = 40403
	codeFormatMismatch   = 40601
	codeInstanceExists   = 40902
	codeIllegalState     = 40903
	codeConsumerConfig   = 42204
	codeTooManyInstances = 50306
)

// ---- request bodies ----

// v2CreateConsumerRequest is the body of POST /consumers/{group_name}.
// The numbers and auto.commit.enable come as JSON numbers and booleans
// or, as upstream's clients send them, as strings.
type v2CreateConsumerRequest struct {
	Name             string          `json:"name"`
	Format           string          `json:"format"`
	AutoOffsetReset  string          `json:"auto.offset.reset"`
	AutoCommitEnable json.RawMessage `json:"auto.commit.enable"`
	FetchMinBytes    json.RawMessage `json:"fetch.min.bytes"`
	RequestTimeoutMs json.RawMessage `json:"consumer.request.timeout.ms"`
}

// v2Subscription is the body of POST …/subscription and the answer of
// GET.
type v2Subscription struct {
	Topics       []string `json:"topics"`
	TopicPattern string   `json:"topic_pattern,omitempty"`
}

// v2TopicPartition names a partition.
type v2TopicPartition struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
}

// v2PartitionsBody is the body of the assignments, positions/beginning,
// positions/end and GET offsets routes, and the answer of GET
// assignments.
type v2PartitionsBody struct {
	Partitions []v2TopicPartition `json:"partitions"`
}

// v2OffsetsBody is the body of POST positions and POST offsets.
type v2OffsetsBody struct {
	Offsets []v2Offset `json:"offsets"`
}

// v2Offset is a partition's offset.
type v2Offset struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
	Metadata  string `json:"metadata,omitempty"`
}

// v2CommittedOffset is a committed offset as GET offsets answers it.
type v2CommittedOffset struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
	Metadata  string `json:"metadata"`
}

// maxConsumerPartitions bounds the partitions and topics one consumer
// request names.
const maxConsumerPartitions = 10_000

// decodeConsumerConfig decodes the body of a create request into the
// instance's name and config.
//
// Invariants (FuzzConsumerBodies): it never panics and fails only with an
// error errorFor answers 4xx; on success
// the name is empty or a valid instance name
// (validInstanceName), the format binary or json, and the config's
// numbers within consumers' bounds.
func decodeConsumerConfig(body []byte) (string, consumers.Config, error) {
	var req v2CreateConsumerRequest
	var cfg consumers.Config
	if err := unmarshalStrict(body, &req); err != nil {
		return "", cfg, err
	}
	if req.Name != "" && !validInstanceName(req.Name) {
		return "", cfg, consumerConfigError(fmt.Sprintf("name %q must be 1 to 249 ASCII letters, digits, '.', '_' or '-'", req.Name))
	}
	switch f := strings.ToLower(req.Format); f {
	case "", v2FormatBinary:
		cfg.Format = v2FormatBinary
	case v2FormatJSON:
		cfg.Format = v2FormatJSON
	case "avro", "jsonschema", "protobuf":
		return "", cfg, errSchemaRegistry("the " + f + " format")
	default:
		return "", cfg, consumerConfigError(fmt.Sprintf("format must be binary or json, not %q", req.Format))
	}
	cfg.AutoOffsetReset = req.AutoOffsetReset
	if !jsonNull(req.AutoCommitEnable) {
		var on bool
		s, _ := jsonText(req.AutoCommitEnable)
		switch {
		case json.Unmarshal(req.AutoCommitEnable, &on) == nil:
		case s != nil && (string(s) == "true" || string(s) == "false"):
			on = string(s) == "true"
		default:
			return "", cfg, consumerConfigError(fmt.Sprintf("auto.commit.enable must be true or false, not %s", req.AutoCommitEnable))
		}
		cfg.AutoCommit = on
	}
	n, err := configNumber(req.FetchMinBytes, "fetch.min.bytes", consumers.MaxFetchMinBytes)
	if err != nil {
		return "", cfg, err
	}
	cfg.FetchMinBytes = int32(n)
	if n, err = configNumber(req.RequestTimeoutMs, "consumer.request.timeout.ms", consumers.MaxRequestTimeout.Milliseconds()); err != nil {
		return "", cfg, err
	}
	if !jsonNull(req.RequestTimeoutMs) && n == 0 {
		return "", cfg, consumerConfigError("consumer.request.timeout.ms must be at least 1")
	}
	cfg.RequestTimeout = time.Duration(n) * time.Millisecond
	return req.Name, cfg, nil
}

// configNumber reads a whole number from 0 to most, as a JSON number or
// string; absent or null is 0.
func configNumber(raw json.RawMessage, name string, most int64) (int64, error) {
	if jsonNull(raw) {
		return 0, nil
	}
	text := []byte(raw)
	if s, ok := jsonText(raw); ok {
		text = s
	}
	n, err := strconv.ParseInt(string(text), 10, 64)
	if err != nil || n < 0 || n > most {
		return 0, consumerConfigError(fmt.Sprintf("%s must be a whole number from 0 to %d, not %s", name, most, raw))
	}
	return n, nil
}

// validInstanceName reports whether s may name an instance: what may
// stand in a path segment as it is.
func validInstanceName(s string) bool {
	if len(s) == 0 || len(s) > 249 {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// decodeSubscription decodes a subscription: topics, or a topic_pattern,
// never both nor neither.
//
// Invariants (FuzzConsumerBodies): it never panics and fails only with an
// error errorFor answers 4xx; on success
// exactly one of topics and pattern is set, each
// topic a legal topic name, at most maxConsumerPartitions of them.
func decodeSubscription(body []byte) ([]string, string, error) {
	var req v2Subscription
	if err := unmarshalStrict(body, &req); err != nil {
		return nil, "", err
	}
	switch {
	case len(req.Topics) > 0 && req.TopicPattern != "":
		return nil, "", invalidConsumerBody("give topics or topic_pattern, not both")
	case len(req.Topics) == 0 && req.TopicPattern == "":
		return nil, "", invalidConsumerBody("give topics or topic_pattern")
	case len(req.Topics) > maxConsumerPartitions:
		return nil, "", invalidConsumerBody(fmt.Sprintf("topics holds more than %d topics", maxConsumerPartitions))
	}
	for _, t := range req.Topics {
		if err := checkTopicName(t); err != nil {
			return nil, "", err
		}
	}
	return req.Topics, req.TopicPattern, nil
}

// decodePartitions decodes a list of partitions, at least one unless
// empty is allowed.
//
// Invariants (FuzzConsumerBodies): it never panics and fails only with an
// error errorFor answers 4xx; on success
// every partition has a legal topic name and a
// non-negative id, at most maxConsumerPartitions of them.
func decodePartitions(body []byte) ([]consumers.TopicPartition, error) {
	var req v2PartitionsBody
	if err := unmarshalStrict(body, &req); err != nil {
		return nil, err
	}
	if len(req.Partitions) > maxConsumerPartitions {
		return nil, invalidConsumerBody(fmt.Sprintf("partitions holds more than %d partitions", maxConsumerPartitions))
	}
	out := make([]consumers.TopicPartition, len(req.Partitions))
	for i, p := range req.Partitions {
		if err := checkPartition(p.Topic, p.Partition); err != nil {
			return nil, err
		}
		out[i] = consumers.TopicPartition{Topic: p.Topic, Partition: p.Partition}
	}
	return out, nil
}

// decodeOffsets decodes a list of offsets.
//
// Invariants (FuzzConsumerBodies): it never panics and fails only with an
// error errorFor answers 4xx; on success
// every offset has a legal topic name, a
// non-negative partition and a non-negative offset, at most
// maxConsumerPartitions of them.
func decodeOffsets(body []byte) ([]consumers.Offset, error) {
	var req v2OffsetsBody
	if err := unmarshalStrict(body, &req); err != nil {
		return nil, err
	}
	if len(req.Offsets) > maxConsumerPartitions {
		return nil, invalidConsumerBody(fmt.Sprintf("offsets holds more than %d offsets", maxConsumerPartitions))
	}
	out := make([]consumers.Offset, len(req.Offsets))
	for i, o := range req.Offsets {
		if err := checkPartition(o.Topic, o.Partition); err != nil {
			return nil, err
		}
		if o.Offset < 0 {
			return nil, invalidConsumerBody(fmt.Sprintf("offsets[%d].offset must not be negative", i))
		}
		out[i] = consumers.Offset{TopicPartition: consumers.TopicPartition{Topic: o.Topic, Partition: o.Partition}, Offset: o.Offset, Metadata: o.Metadata}
	}
	return out, nil
}

func checkTopicName(t string) error {
	if err := admin.ValidTopicName(t); err != nil {
		return &apiError{http.StatusBadRequest, codeInvalidField, err.Error()}
	}
	return nil
}

func checkPartition(topic string, partition int32) error {
	if err := checkTopicName(topic); err != nil {
		return err
	}
	if partition < 0 {
		return invalidConsumerBody(fmt.Sprintf("partition of %s must not be negative", topic))
	}
	return nil
}

func invalidConsumerBody(msg string) error {
	return &apiError{http.StatusBadRequest, codeInvalidField, msg}
}

// consumerConfigError is upstream's 422 (42204) for a consumer
// configuration that cannot work, as errorFor answers
// consumers.ErrInvalidConfig.
func consumerConfigError(msg string) error {
	return fmt.Errorf("%w: %s", consumers.ErrInvalidConfig, msg)
}

// ---- handlers ----

// registry returns the node's consumer instances, or 503 without them.
func (h *handlers) registry() (consumerRegistry, error) {
	if h.consumers == nil {
		return nil, &apiError{http.StatusServiceUnavailable, codeKafkaUnavailable, "consumer instances are not served here"}
	}
	return h.consumers, nil
}

// instance returns the instance the path names.
func (h *handlers) instance(c *call) (*consumers.Instance, error) {
	reg, err := h.registry()
	if err != nil {
		return nil, err
	}
	return reg.Get(c.pathValue("group_name"), c.pathValue("instance"))
}

// v2CreateConsumer creates an instance and answers its id and base URI.
func (h *handlers) v2CreateConsumer(c *call) (int, any, error) {
	reg, err := h.registry()
	if err != nil {
		return 0, nil, err
	}
	body := c.body
	if len(strings.TrimSpace(string(body))) == 0 {
		body = []byte("{}") // upstream takes an empty body for the defaults
	}
	name, cfg, err := decodeConsumerConfig(body)
	if err != nil {
		return 0, nil, err
	}
	group := c.pathValue("group_name")
	in, err := reg.Create(group, name, cfg)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, struct {
		InstanceID string `json:"instance_id"`
		BaseURI    string `json:"base_uri"`
	}{in.ID, c.baseURL() + "/consumers/" + url.PathEscape(group) + "/instances/" + url.PathEscape(in.ID)}, nil
}

// v2DeleteConsumer closes an instance: it leaves its group.
func (h *handlers) v2DeleteConsumer(c *call) (int, any, error) {
	reg, err := h.registry()
	if err != nil {
		return 0, nil, err
	}
	if err := reg.Delete(c.context(), c.pathValue("group_name"), c.pathValue("instance")); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

// v2Subscribe subscribes an instance to topics, each of which the caller
// must be allowed to read, or to a pattern, which an authorizer cannot
// check topic by topic and so refuses.
func (h *handlers) v2Subscribe(c *call) (int, any, error) {
	in, err := h.instance(c)
	if err != nil {
		return 0, nil, err
	}
	body, err := nonEmpty(c.body)
	if err != nil {
		return 0, nil, err
	}
	topics, pattern, err := decodeSubscription(body)
	if err != nil {
		return 0, nil, err
	}
	if pattern != "" && c.srv.opts.Security.Authorizer != nil {
		return 0, nil, c.denied(resourceTopic, pattern, opRead, "a topic_pattern cannot be authorized topic by topic; subscribe to topics by name")
	}
	for _, t := range topics {
		if err := c.allow(resourceTopic, t, opRead); err != nil {
			return 0, nil, err
		}
	}
	if err := in.Subscribe(topics, pattern); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

// v2Subscription answers an instance's subscribed topics.
func (h *handlers) v2Subscription(c *call) (int, any, error) {
	in, err := h.instance(c)
	if err != nil {
		return 0, nil, err
	}
	topics := in.Subscription()
	if topics == nil {
		topics = []string{} // upstream answers [] when not subscribed
	}
	return http.StatusOK, v2Subscription{Topics: topics}, nil
}

// instanceBody returns the instance c names and c's body, which must not
// be empty, decoded by decode.
func instanceBody[T any](h *handlers, c *call, decode func([]byte) (T, error)) (*consumers.Instance, T, error) {
	var zero T
	in, err := h.instance(c)
	if err != nil {
		return nil, zero, err
	}
	body, err := nonEmpty(c.body)
	if err != nil {
		return nil, zero, err
	}
	v, err := decode(body)
	if err != nil {
		return nil, zero, err
	}
	return in, v, nil
}

// v2Unsubscribe ends an instance's subscription or assignment.
func (h *handlers) v2Unsubscribe(c *call) (int, any, error) {
	in, err := h.instance(c)
	if err != nil {
		return 0, nil, err
	}
	in.Unsubscribe(c.context())
	return http.StatusNoContent, nil, nil
}

// v2Assign assigns partitions to an instance; the caller must be allowed
// to read each topic.
func (h *handlers) v2Assign(c *call) (int, any, error) {
	in, ps, err := instanceBody(h, c, decodePartitions)
	if err != nil {
		return 0, nil, err
	}
	for _, p := range ps {
		if err := c.allow(resourceTopic, p.Topic, opRead); err != nil {
			return 0, nil, err
		}
	}
	if err := in.Assign(c.context(), ps); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

// v2Assignments answers the partitions an instance holds.
func (h *handlers) v2Assignments(c *call) (int, any, error) {
	in, err := h.instance(c)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, v2PartitionsBody{Partitions: mapSlice(in.Assignment(), func(tp consumers.TopicPartition) v2TopicPartition {
		return v2TopicPartition{tp.Topic, tp.Partition}
	})}, nil
}

// v2Seek moves an instance's partitions to the offsets given.
func (h *handlers) v2Seek(c *call) (int, any, error) {
	in, offsets, err := instanceBody(h, c, decodeOffsets)
	if err != nil {
		return 0, nil, err
	}
	if err := in.Seek(offsets); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

// v2SeekEdge moves an instance's partitions to their beginning or end.
func (h *handlers) v2SeekEdge(end bool) handler {
	return func(c *call) (int, any, error) {
		in, ps, err := instanceBody(h, c, decodePartitions)
		if err != nil {
			return 0, nil, err
		}
		if err := in.SeekEdge(c.context(), ps, end); err != nil {
			return 0, nil, err
		}
		return http.StatusNoContent, nil, nil
	}
}

// v2Commit commits the offsets given (each the last record processed), or
// with an empty body those of every record delivered. Upstream answers
// 200 without a body.
func (h *handlers) v2Commit(c *call) (int, any, error) {
	in, err := h.instance(c)
	if err != nil {
		return 0, nil, err
	}
	var offsets []consumers.Offset
	if len(strings.TrimSpace(string(c.body))) > 0 {
		if offsets, err = decodeOffsets(c.body); err != nil {
			return 0, nil, err
		}
		if offsets == nil {
			offsets = []consumers.Offset{}
		}
	}
	if err := in.Commit(c.context(), offsets); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, nil, nil
}

// v2Committed answers the group's committed offsets of the partitions
// the body names.
func (h *handlers) v2Committed(c *call) (int, any, error) {
	in, ps, err := instanceBody(h, c, decodePartitions)
	if err != nil {
		return 0, nil, err
	}
	offsets, err := in.Committed(c.context(), ps)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, struct {
		Offsets []v2CommittedOffset `json:"offsets"`
	}{mapSlice(offsets, func(o consumers.Offset) v2CommittedOffset {
		return v2CommittedOffset{o.Topic, o.Partition, o.Offset, o.Metadata}
	})}, nil
}

// v2Records answers an instance's next records in the format its Accept
// names, which must be the instance's (406, 40601). The query's timeout
// (milliseconds) is bounded by the instance's consumer.request.timeout.ms,
// and max_bytes by maxReadBytes. The answer counts as delivered once
// fasthttp has written all of it to the connection: an answer cut off
// leaves its records for the next read. A second read of the instance
// waits for the first, up to its timeout (then 409, 40903).
func (h *handlers) v2Records(c *call) (int, any, error) {
	in, err := h.instance(c)
	if err != nil {
		return 0, nil, err
	}
	format, media, err := recordsFormat(c.fctx.Request.Header.PeekAll("Accept"))
	if err != nil {
		return 0, nil, err
	}
	if format != in.Format {
		return 0, nil, &apiError{http.StatusNotAcceptable, codeFormatMismatch,
			"The requested embedded data format does not match the deserializer for this consumer instance"}
	}
	wait, err := queryNumber(c, "timeout", consumers.MaxRequestTimeout.Milliseconds())
	if err != nil {
		return 0, nil, err
	}
	maxBytes, err := queryNumber(c, "max_bytes", maxReadBytes)
	if err != nil {
		return 0, nil, err
	}
	if !c.hasQuery("timeout") {
		wait = consumers.MaxRequestTimeout.Milliseconds()
	}
	if !c.hasQuery("max_bytes") {
		maxBytes = maxReadBytes
	}
	readID := c.header(readIDHeader)
	if readID != "" && !validRequestID([]byte(readID)) {
		return 0, nil, invalidConsumerBody(fmt.Sprintf("%s must be 1 to %d visible ASCII characters", readIDHeader, maxRequestIDBytes))
	}
	b, err := in.Read(c.context(), time.Duration(wait)*time.Millisecond, int(maxBytes), readID)
	if err != nil {
		return 0, nil, err
	}
	out, err := appendV2ConsumerRecords(make([]byte, 0, 256), b, format == v2FormatBinary, h.recordMetadata)
	if err != nil {
		b.Done(false)
		return 0, nil, err
	}
	c.fctx.SetContentType(media)
	c.fctx.SetStatusCode(http.StatusOK)
	c.fctx.Response.SetBodyStream(&deliveryBody{data: out, done: b.Done}, len(out))
	return answered, nil, nil
}

// recordsFormat returns the embedded format, and its media type, that a
// read's Accept asks for: binary for application/vnd.kafka.binary.v2+json
// (and, as upstream's default, for none), json for
// application/vnd.kafka.json.v2+json; the Schema Registry's formats are
// refused as produce refuses them, anything else is 406.
func recordsFormat(accept [][]byte) (string, string, error) {
	if len(accept) == 0 {
		return v2FormatBinary, mediaV2Binary, nil
	}
	for mt := range acceptedTypes(accept) {
		switch mt {
		case mediaV2Binary, mediaV2, "*/*", "application/*":
			return v2FormatBinary, mediaV2Binary, nil
		case mediaV2JSON:
			return v2FormatJSON, mediaV2JSON, nil
		case "application/vnd.kafka.avro.v2+json", "application/vnd.kafka.jsonschema.v2+json", "application/vnd.kafka.protobuf.v2+json":
			return "", "", errSchemaRegistry(mt)
		}
	}
	return "", "", &apiError{http.StatusNotAcceptable, http.StatusNotAcceptable,
		"HTTP 406 Not Acceptable: records are " + mediaV2Binary + " or " + mediaV2JSON}
}

// queryNumber reads query parameter name as a whole number from 0,
// bounded by most (a larger one is most, as upstream clamps).
func queryNumber(c *call, name string, most int64) (int64, error) {
	if !c.hasQuery(name) {
		return 0, nil
	}
	n, err := strconv.ParseInt(c.query(name), 10, 64)
	if err != nil || n < 0 {
		return 0, &apiError{http.StatusBadRequest, codeInvalidField, fmt.Sprintf("%s must be a whole number from 0, not %q", name, c.query(name))}
	}
	return min(n, most), nil
}

// appendV2ConsumerRecords appends the answer of a read to b: upstream's
// [{"topic","key","value","partition","offset"},…], keys and values
// base64 (binary) or JSON as stored (json), with krest's "timestamp"
// (milliseconds) and "headers" ([{"key","value" base64}], in order) when
// metadata is on. A value that is not JSON fails a json read.
func appendV2ConsumerRecords(b []byte, batch *consumers.Batch, binary, metadata bool) ([]byte, error) {
	data := func(b, v []byte, what string, i int) ([]byte, error) {
		switch {
		case v == nil || binary:
			return appendBase64(b, v), nil
		case !json.Valid(v):
			r := batch.Records[i]
			return nil, &apiError{http.StatusInternalServerError, codeKafkaRejected,
				fmt.Sprintf("the %s of the record at %s-%d offset %d is not JSON; read it with the binary format", what, r.Topic, r.Partition, r.Offset)}
		}
		return append(b, v...), nil
	}
	b = append(b, '[')
	for i, r := range batch.Records {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(append(b, `{"topic":`...), r.Topic)
		var err error
		if b, err = data(append(b, `,"key":`...), r.Key, "key", i); err != nil {
			return nil, err
		}
		if b, err = data(append(b, `,"value":`...), r.Value, "value", i); err != nil {
			return nil, err
		}
		b = strconv.AppendInt(append(b, `,"partition":`...), int64(r.Partition), 10)
		b = strconv.AppendInt(append(b, `,"offset":`...), r.Offset, 10)
		if metadata {
			b = strconv.AppendInt(append(b, `,"timestamp":`...), r.Timestamp.UnixMilli(), 10)
			b = append(b, `,"headers":[`...)
			for j, h := range r.Headers {
				if j > 0 {
					b = append(b, ',')
				}
				b = appendJSONString(append(b, `{"key":`...), h.Key)
				b = appendBase64(append(b, `,"value":`...), h.Value)
				b = append(b, '}')
			}
			b = append(b, ']')
		}
		b = append(b, '}')
	}
	return append(b, ']', '\n'), nil
}

// deliveryBody is a read's answer as fasthttp writes it: done learns,
// once fasthttp closes it, whether every byte went to the connection
// without an error. fasthttp closes every body stream, written or not.
type deliveryBody struct {
	data []byte
	off  int
	once sync.Once
	done func(delivered bool)
}

func (d *deliveryBody) Read(p []byte) (int, error) {
	if d.off == len(d.data) {
		return 0, io.EOF
	}
	n := copy(p, d.data[d.off:])
	d.off += n
	return n, nil
}

// CloseWithError is fasthttp's close of the body, with the error of
// writing it, if any.
func (d *deliveryBody) CloseWithError(err error) error {
	d.once.Do(func() { d.done(err == nil && d.off == len(d.data)) })
	return nil
}
