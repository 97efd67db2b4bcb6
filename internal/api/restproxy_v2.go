package api

import (
	"mime"
	"net/http"
	"strconv"
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
	v2FormatNone   = ""       // v2FormatNone: no embedded format (application/vnd.kafka.v2+json, application/json, or no Content-Type).
	v2FormatBinary = "binary" // v2FormatBinary: mediaV2Binary.
	v2FormatJSON   = "json"   // v2FormatJSON: mediaV2JSON.
)

// ---- v2 content negotiation: every v2 route, produce included, is wrapped
// in withV2; a produce handler reads its embedded format with
// v2EmbeddedFormat. ----

// withV2 serves h as an API v2 route: a request whose Accept admits no v2
// answer gets 406 and one whose Content-Type is not a v2 request type gets
// 415, both before h runs; every answer, errors included, is typed
// application/vnd.kafka.v2+json.
func withV2(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", mediaV2)
		if !v2Acceptable(r.Header.Values("Accept")) {
			writeError(w, &apiError{http.StatusNotAcceptable, http.StatusNotAcceptable,
				"HTTP 406 Not Acceptable: v2 answers are " + mediaV2 + ", which application/json also admits"})
			return
		}
		if _, err := v2EmbeddedFormat(r); err != nil {
			writeError(w, err)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// v2EmbeddedFormat returns the embedded format r's Content-Type names
// (v2FormatNone, v2FormatBinary or v2FormatJSON), or a 415 error for any
// other type; for the Avro, JSON Schema and Protobuf ones, with code 42205
// and a message saying they need a Schema Registry.
func v2EmbeddedFormat(r *http.Request) (string, error) {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return v2FormatNone, nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err == nil {
		switch mt {
		case mediaV2, "application/json":
			return v2FormatNone, nil
		case mediaV2Binary:
			return v2FormatBinary, nil
		case mediaV2JSON:
			return v2FormatJSON, nil
		case "application/vnd.kafka.avro.v2+json", "application/vnd.kafka.jsonschema.v2+json", "application/vnd.kafka.protobuf.v2+json":
			return "", &apiError{http.StatusUnsupportedMediaType, codeSchemaRequired,
				"HTTP 415 Unsupported Media Type: " + mt + " embeds data that needs a Schema Registry, which krest does not have; send " +
					mediaV2Binary + " or " + mediaV2JSON}
		}
	}
	return "", &apiError{http.StatusUnsupportedMediaType, http.StatusUnsupportedMediaType,
		"HTTP 415 Unsupported Media Type: " + ct + " is not one of " +
			strings.Join([]string{mediaV2Binary, mediaV2JSON, mediaV2, "application/json"}, ", ")}
}

// v2Acceptable reports whether Accept header values admit a v2 answer: no
// header, or a media range with a non-zero q that matches
// application/vnd.kafka.v2+json or application/json (which v2 answers also
// are).
func v2Acceptable(accept []string) bool {
	if len(accept) == 0 {
		return true
	}
	for _, value := range accept {
		for _, rng := range strings.Split(value, ",") {
			mt, params, err := mime.ParseMediaType(rng)
			if err != nil {
				continue
			}
			if q, ok := params["q"]; ok {
				if f, err := strconv.ParseFloat(q, 64); err != nil || f <= 0 {
					continue
				}
			}
			switch mt {
			case "*/*", "application/*", mediaV2, "application/json":
				return true
			}
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

// handleV2 serves one v2 metadata route; errors take errorFor's v2 codes.
func handleV2(fn func(c *restCall) (any, error)) http.Handler {
	return serveRest(errorFor, nil, func(c *restCall) (int, any, error) {
		body, err := fn(c)
		return http.StatusOK, body, err
	})
}

// handleV2Root answers GET / with {}, as upstream does: a liveness probe.
func handleV2Root() http.Handler {
	return handleV2(func(*restCall) (any, error) { return struct{}{}, nil })
}

// handleV2Topics answers the names of every topic but internal ones.
func handleV2Topics(adm adminer) http.Handler {
	return handleV2(func(c *restCall) (any, error) {
		names, err := adm.TopicNames(c.r.Context())
		if names == nil {
			names = []string{}
		}
		return names, err
	})
}

// handleV2Topic answers a topic's configs and partitions.
func handleV2Topic(adm adminer) http.Handler {
	return handleV2(func(c *restCall) (any, error) {
		t, err := adm.Topic(c.r.Context(), c.topic)
		if err != nil {
			return nil, err
		}
		cs, err := adm.TopicConfigs(c.r.Context(), c.topic)
		if err != nil {
			return nil, err
		}
		configs := make(map[string]*string, len(cs))
		for _, cfg := range cs {
			configs[cfg.Name] = cfg.Value
		}
		return v2Topic{Name: t.Name, Configs: configs, Partitions: mapSlice(t.Partitions, v2PartitionOf)}, nil
	})
}

// handleV2Partitions answers a topic's partitions.
func handleV2Partitions(adm adminer) http.Handler {
	return handleV2(func(c *restCall) (any, error) {
		ps, err := adm.Partitions(c.r.Context(), c.topic)
		return mapSlice(ps, v2PartitionOf), err
	})
}

// handleV2Partition answers one partition.
func handleV2Partition(adm adminer) http.Handler {
	return handleV2(func(c *restCall) (any, error) {
		p, err := adm.Partition(c.r.Context(), c.topic, c.partition)
		return v2PartitionOf(p), err
	})
}

// handleV2Offsets answers a partition's beginning and end offsets.
func handleV2Offsets(adm adminer) http.Handler {
	return handleV2(func(c *restCall) (any, error) {
		o, err := adm.Offsets(c.r.Context(), c.topic, c.partition)
		return v2Offsets{BeginningOffset: o.Earliest, EndOffset: o.Latest}, err
	})
}

// handleV2Brokers answers the ids of every broker.
func handleV2Brokers(adm adminer) http.Handler {
	return handleV2(func(c *restCall) (any, error) {
		bs, err := adm.Brokers(c.r.Context())
		return v2Brokers{Brokers: mapSlice(bs, func(b admin.Broker) int32 { return b.ID })}, err
	})
}
