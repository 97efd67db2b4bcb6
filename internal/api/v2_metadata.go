package api

import (
	"mime"
	"net/http"
	"strings"

	"krest/internal/admin"
)

// API v2 of Confluent REST Proxy, served at the root as upstream serves it:
// topic, partition and broker metadata. Produce routes live in their own
// file and share the content negotiation below.

// API v2 media types.
const (
	mediaV2       = "application/vnd.kafka.v2+json"        // mediaV2 is v2's own type, of every v2 answer.
	mediaV2Binary = "application/vnd.kafka.binary.v2+json" // mediaV2Binary carries base64 keys and values.
	mediaV2JSON   = "application/vnd.kafka.json.v2+json"   // mediaV2JSON carries JSON keys and values.
)

// Embedded formats of v2 produce requests, as v2EmbeddedFormat names them.
const (
	v2FormatNone   = ""       // v2FormatNone: no Content-Type, which a v2 produce refuses.
	v2FormatBinary = "binary" // v2FormatBinary: base64 keys and values (mediaV2Binary, or mediaV2 as upstream's v1/v2 default).
	v2FormatJSON   = "json"   // v2FormatJSON: JSON keys and values (mediaV2JSON, or plain application/json).
)

// ---- v2 content negotiation: the frame runs negotiateV2 for every v2
// route; a produce route reads its embedded format with v2EmbeddedFormat.
// ----

// negotiateV2 fails a v2 request whose Accept admits no v2 answer (406) or
// whose Content-Type is not a v2 request type (415); the frame has typed
// every answer, errors included, application/vnd.kafka.v2+json.
func negotiateV2(c *call) error {
	if !c.route.embeddedAccept && !v2Acceptable(c.fctx.Request.Header.PeekAll("Accept")) {
		return &apiError{http.StatusNotAcceptable, http.StatusNotAcceptable,
			"HTTP 406 Not Acceptable: v2 answers are " + mediaV2 + ", which application/json also admits"}
	}
	_, err := v2EmbeddedFormat(string(c.fctx.Request.Header.ContentType()))
	return err
}

// v2EmbeddedFormat returns the embedded format a Content-Type names
// (v2FormatNone for none, v2FormatBinary or v2FormatJSON), or a 415 error
// for any other type; for the Avro, JSON Schema and Protobuf ones, with
// code 42205 and a message saying they need a Schema Registry. As in
// upstream's v1 and v2, application/vnd.kafka.v2+json embeds the binary
// format (base64), as Confluent's own clients send it; plain
// application/json embeds JSON.
func v2EmbeddedFormat(ct string) (string, error) {
	if ct == "" {
		return v2FormatNone, nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err == nil {
		switch mt {
		case mediaV2, mediaV2Binary:
			return v2FormatBinary, nil
		case mediaV2JSON, "application/json":
			return v2FormatJSON, nil
		case "application/vnd.kafka.avro.v2+json", "application/vnd.kafka.jsonschema.v2+json", "application/vnd.kafka.protobuf.v2+json":
			return "", errSchemaRegistry(mt)
		}
	}
	return "", errV2MediaType(ct)
}

// errSchemaRegistry is the 415 (42205) of an embedded format, named by
// what, that needs a Schema Registry.
func errSchemaRegistry(what string) error {
	return &apiError{http.StatusUnsupportedMediaType, codeSchemaRequired,
		"HTTP 415 Unsupported Media Type: " + what + " embeds data that needs a Schema Registry, which krest does not have; send " +
			mediaV2Binary + " or " + mediaV2JSON}
}

// errV2MediaType is the 415 of a v2 request whose Content-Type is ct.
func errV2MediaType(ct string) error {
	if ct == "" {
		ct = "no Content-Type"
	}
	return &apiError{http.StatusUnsupportedMediaType, http.StatusUnsupportedMediaType,
		"HTTP 415 Unsupported Media Type: " + ct + " is not one of " +
			strings.Join([]string{mediaV2Binary, mediaV2JSON, mediaV2, "application/json"}, ", ")}
}

// v2Acceptable reports whether Accept header values admit a v2 answer: no
// header, or a media range with a non-zero q that matches
// application/vnd.kafka.v2+json or application/json (which v2 answers also
// are).
func v2Acceptable(accept [][]byte) bool {
	if len(accept) == 0 {
		return true
	}
	for mt := range acceptedTypes(accept) {
		switch mt {
		case "*/*", "application/*", mediaV2, "application/json":
			return true
		}
	}
	return false
}

// ---- v2 metadata routes ----

// v2Partition is a partition in v2 answers.
type v2Partition struct {
	Partition int32       `json:"partition"`
	Leader    int32       `json:"leader"` // -1 without a leader
	Replicas  []v2Replica `json:"replicas"`
}

// v2Replica is a replica in v2 answers.
type v2Replica struct {
	Broker int32 `json:"broker"`
	Leader bool  `json:"leader"`
	InSync bool  `json:"in_sync"`
}

// v2Topic is the answer to GET /topics/{topic_name}.
type v2Topic struct {
	Name       string             `json:"name"`
	Configs    map[string]*string `json:"configs"` // sensitive values are null
	Partitions []v2Partition      `json:"partitions"`
}

// v2Offsets is the answer to GET /topics/{topic_name}/partitions/{partition_id}/offsets.
type v2Offsets struct {
	BeginningOffset int64 `json:"beginning_offset"`
	EndOffset       int64 `json:"end_offset"`
}

// v2Brokers is the answer to GET /brokers.
type v2Brokers struct {
	Brokers []int32 `json:"brokers"`
}

func v2PartitionOf(p admin.Partition) v2Partition {
	return v2Partition{Partition: p.ID, Leader: p.Leader, Replicas: mapSlice(p.Replicas, func(r admin.Replica) v2Replica {
		return v2Replica{Broker: r.Broker, Leader: r.Leader, InSync: r.InSync}
	})}
}

// handleV2Root answers GET / with {}, as upstream does: a liveness probe.
func handleV2Root(*call) (int, any, error) {
	return http.StatusOK, struct{}{}, nil
}

// v2Topics answers the names of every topic but internal ones.
func (h *handlers) v2Topics(c *call) (int, any, error) {
	names, err := c.adm.TopicNames(c.context())
	if err != nil {
		return 0, nil, err
	}
	names = visible(c, resourceTopic, opDescribe, names, func(n string) string { return n })
	if names == nil {
		names = []string{}
	}
	return http.StatusOK, names, nil
}

// v2Topic answers a topic's configs and partitions.
func (h *handlers) v2Topic(c *call) (int, any, error) {
	t, err := c.adm.Topic(c.context(), c.topic)
	if err != nil {
		return 0, nil, err
	}
	cs, err := c.adm.TopicConfigs(c.context(), c.topic)
	if err != nil {
		return 0, nil, err
	}
	configs := make(map[string]*string, len(cs))
	for _, cfg := range cs {
		configs[cfg.Name] = cfg.Value
	}
	return http.StatusOK, v2Topic{Name: t.Name, Configs: configs, Partitions: mapSlice(t.Partitions, v2PartitionOf)}, nil
}

// v2Partitions answers a topic's partitions.
func (h *handlers) v2Partitions(c *call) (int, any, error) {
	ps, err := c.adm.Partitions(c.context(), c.topic)
	return http.StatusOK, mapSlice(ps, v2PartitionOf), err
}

// v2Partition answers one partition.
func (h *handlers) v2Partition(c *call) (int, any, error) {
	p, err := c.adm.Partition(c.context(), c.topic, c.partition)
	return http.StatusOK, v2PartitionOf(p), err
}

// v2Offsets answers a partition's beginning and end offsets.
func (h *handlers) v2Offsets(c *call) (int, any, error) {
	o, err := c.adm.Offsets(c.context(), c.topic, c.partition)
	return http.StatusOK, v2Offsets{BeginningOffset: o.Earliest, EndOffset: o.Latest}, err
}

// v2Brokers answers the ids of every broker.
func (h *handlers) v2Brokers(c *call) (int, any, error) {
	bs, err := c.adm.Brokers(c.context())
	return http.StatusOK, v2Brokers{Brokers: mapSlice(bs, func(b admin.Broker) int32 { return b.ID })}, err
}
