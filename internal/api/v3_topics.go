package api

import (
	"fmt"
	"net/http"
	"strconv"

	"krest/internal/admin"
	"krest/internal/naming"
)

// API v3 topics: list, describe, create, delete, and their partition count.

// ---- topics ----

// v3Topic is a KafkaTopic.
type v3Topic struct {
	Kind                   string   `json:"kind"`
	Metadata               v3Meta   `json:"metadata"`
	ClusterID              string   `json:"cluster_id"`
	TopicName              string   `json:"topic_name"`
	IsInternal             bool     `json:"is_internal"`
	ReplicationFactor      int      `json:"replication_factor"`
	PartitionsCount        int      `json:"partitions_count"`
	Partitions             v3Rel    `json:"partitions"`
	Configs                v3Rel    `json:"configs"`
	PartitionReassignments v3Rel    `json:"partition_reassignments"`
	AuthorizedOperations   []string `json:"authorized_operations"` // [] unless asked for
}

// topicOf describes t; its authorized operations only with withOps, as
// upstream's include_authorized_operations asks.
func (c *call) topicOf(t admin.Topic, withOps bool) v3Topic {
	ops := []string{}
	if withOps && t.AuthorizedOperations != nil {
		ops = t.AuthorizedOperations
	}
	return v3Topic{
		Kind:                   "KafkaTopic",
		Metadata:               v3Meta{Self: c.link("topics", t.Name), ResourceName: c.crn("topic", t.Name)},
		ClusterID:              c.cluster,
		TopicName:              t.Name,
		IsInternal:             t.Internal,
		ReplicationFactor:      t.ReplicationFactor,
		PartitionsCount:        t.PartitionsCount,
		Partitions:             c.rel("topics", t.Name, "partitions"),
		Configs:                c.rel("topics", t.Name, "configs"),
		PartitionReassignments: c.rel("topics", t.Name, "partitions", "-", "reassignment"),
		AuthorizedOperations:   ops,
	}
}

// v3Topics lists the topics but internal ones, as upstream does.
func (h *handlers) v3Topics(c *call) (int, any, error) {
	after, err := c.pageToken(naming.Topic)
	if err != nil {
		return 0, nil, err
	}
	page, err := c.adm.TopicsPage(c.context(), after, 0)
	if err != nil {
		return 0, nil, err
	}
	shown := visible(c, resourceTopic, opDescribe, page.Items, func(t admin.Topic) string { return t.Name })
	data := mapSlice(shown, func(t admin.Topic) v3Topic { return c.topicOf(t, false) })
	return http.StatusOK, v3PageOf(c, "KafkaTopicList", data, page.Next, "topics"), nil
}

// v3Topic describes one topic.
func (h *handlers) v3Topic(c *call) (int, any, error) {
	t, err := c.adm.Topic(c.context(), c.topic)
	withOps, _ := strconv.ParseBool(c.query("include_authorized_operations"))
	return http.StatusOK, c.topicOf(t, withOps), err
}

// v3NewTopic is the body of POST …/topics.
type v3NewTopic struct {
	TopicName           string             `json:"topic_name"`
	PartitionsCount     *int32             `json:"partitions_count"`
	ReplicationFactor   *int16             `json:"replication_factor"`
	ReplicasAssignments map[string][]int32 `json:"replicas_assignments"`
	Configs             []struct {
		Name  string  `json:"name"`
		Value *string `json:"value"`
	} `json:"configs"`
	ValidateOnly bool `json:"validate_only"`
}

// topic validates the request and returns the topic to create. A missing
// partition count or replication factor takes the broker's default; an
// invalid name is upstream's 422 (42206).
func (b v3NewTopic) topic() (admin.NewTopic, error) {
	bad := func(format string, args ...any) (admin.NewTopic, error) {
		return admin.NewTopic{}, &apiError{http.StatusBadRequest, codeInvalidField, fmt.Sprintf(format, args...)}
	}
	if b.TopicName == "" {
		return bad("field topic_name is required")
	}
	if err := admin.ValidTopicName(b.TopicName); err != nil {
		return admin.NewTopic{}, &apiError{http.StatusUnprocessableEntity, codeInvalidPayload,
			"Payload error. Invalid topic name: " + err.Error()}
	}
	if len(b.ReplicasAssignments) > 0 {
		return bad("field replicas_assignments is not supported; give partitions_count and replication_factor")
	}
	t := admin.NewTopic{Name: b.TopicName, ValidateOnly: b.ValidateOnly}
	if b.PartitionsCount != nil {
		if *b.PartitionsCount < 1 {
			return bad("field partitions_count must be at least 1, not %d", *b.PartitionsCount)
		}
		t.Partitions = *b.PartitionsCount
	}
	if b.ReplicationFactor != nil {
		if *b.ReplicationFactor < 1 {
			return bad("field replication_factor must be at least 1, not %d", *b.ReplicationFactor)
		}
		t.ReplicationFactor = *b.ReplicationFactor
	}
	for i, cfg := range b.Configs {
		if cfg.Name == "" {
			return bad("field configs[%d].name is required", i)
		}
		if cfg.Value != nil { // a null value leaves the default
			if t.Configs == nil {
				t.Configs = make(map[string]string)
			}
			t.Configs[cfg.Name] = *cfg.Value
		}
	}
	return t, nil
}

// v3CreateTopic creates a topic: 201 with the topic and its Location,
// or with validate_only 200 and nothing created.
func (h *handlers) v3CreateTopic(c *call) (int, any, error) {
	body, err := decode[v3NewTopic](c)
	if err != nil {
		return 0, nil, err
	}
	nt, err := body.topic()
	if err != nil {
		return 0, nil, err
	}
	c.auditTarget = nt.Name
	if err := c.allow(resourceTopic, nt.Name, opCreate); err != nil {
		return 0, nil, err
	}
	t, err := c.adm.CreateTopic(c.context(), nt)
	if err != nil {
		return 0, nil, err
	}
	v := c.topicOf(t, false)
	c.setHeader("Location", v.Metadata.Self)
	if nt.ValidateOnly {
		return http.StatusOK, v, nil
	}
	return http.StatusCreated, v, nil
}

// v3DeleteTopic deletes a topic.
func (h *handlers) v3DeleteTopic(c *call) (int, any, error) {
	if err := c.adm.DeleteTopic(c.context(), c.topic); err != nil {
		return 0, nil, err
	}
	c.p.ForgetTopic(c.topic)
	return http.StatusNoContent, nil, nil
}

// v3PartitionCount is the body of PATCH …/topics/{topic_name}.
type v3PartitionCount struct {
	PartitionsCount *int32 `json:"partitions_count"`
}

// v3UpdatePartitionCount raises a topic's partition count and
// answers the topic as it now is.
func (h *handlers) v3UpdatePartitionCount(c *call) (int, any, error) {
	body, err := decode[v3PartitionCount](c)
	if err == nil && body.PartitionsCount == nil {
		err = &apiError{http.StatusBadRequest, codeInvalidField, "field partitions_count is required"}
	}
	if err == nil {
		err = c.adm.SetPartitionCount(c.context(), c.topic, int(*body.PartitionsCount))
	}
	if err != nil {
		return 0, nil, err
	}
	t, err := c.adm.Topic(c.context(), c.topic)
	return http.StatusOK, c.topicOf(t, false), err
}
