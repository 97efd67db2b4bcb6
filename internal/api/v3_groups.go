package api

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"

	"krest/internal/admin"
	"krest/internal/naming"
)

// API v3 consumer groups: groups, their consumers and assignments, and
// their lags, read-only as upstream serves them. Group and consumer ids are
// free-form strings, so only the cluster id, topic names and partition ids
// of these paths are validated.

// v3ConsumerGroup is a KafkaConsumerGroup.
type v3ConsumerGroup struct {
	Kind                 string `json:"kind"`
	Metadata             v3Meta `json:"metadata"`
	ClusterID            string `json:"cluster_id"`
	ConsumerGroupID      string `json:"consumer_group_id"`
	IsSimple             bool   `json:"is_simple"`
	PartitionAssignor    string `json:"partition_assignor"`
	State                string `json:"state"`
	Type                 string `json:"type"`
	IsMixedConsumerGroup bool   `json:"is_mixed_consumer_group"`
	Coordinator          v3Rel  `json:"coordinator"`
	Consumers            v3Rel  `json:"consumers"`
	LagSummary           v3Rel  `json:"lag_summary"`
}

// v3Consumer is a KafkaConsumer.
type v3Consumer struct {
	Kind            string  `json:"kind"`
	Metadata        v3Meta  `json:"metadata"`
	ClusterID       string  `json:"cluster_id"`
	ConsumerGroupID string  `json:"consumer_group_id"`
	ConsumerID      string  `json:"consumer_id"`
	InstanceID      *string `json:"instance_id"` // null for a dynamic member
	ClientID        string  `json:"client_id"`
	Assignments     v3Rel   `json:"assignments"`
}

// v3Assignment is a KafkaConsumerAssignment.
type v3Assignment struct {
	Kind            string `json:"kind"`
	Metadata        v3Meta `json:"metadata"`
	ClusterID       string `json:"cluster_id"`
	ConsumerGroupID string `json:"consumer_group_id"`
	ConsumerID      string `json:"consumer_id"`
	TopicName       string `json:"topic_name"`
	PartitionID     int32  `json:"partition_id"`
	Partition       v3Rel  `json:"partition"`
	Lag             v3Rel  `json:"lag"`
}

// v3Lag is a KafkaConsumerLag.
type v3Lag struct {
	Kind            string  `json:"kind"`
	Metadata        v3Meta  `json:"metadata"`
	ClusterID       string  `json:"cluster_id"`
	ConsumerGroupID string  `json:"consumer_group_id"`
	TopicName       string  `json:"topic_name"`
	PartitionID     int32   `json:"partition_id"`
	CurrentOffset   int64   `json:"current_offset"`
	LogEndOffset    int64   `json:"log_end_offset"`
	Lag             int64   `json:"lag"`
	ConsumerID      string  `json:"consumer_id"` // "" if no member owns the partition
	InstanceID      *string `json:"instance_id"`
	ClientID        string  `json:"client_id"`
}

// v3LagSummary is a KafkaConsumerGroupLagSummary.
type v3LagSummary struct {
	Kind              string  `json:"kind"`
	Metadata          v3Meta  `json:"metadata"`
	ClusterID         string  `json:"cluster_id"`
	ConsumerGroupID   string  `json:"consumer_group_id"`
	MaxLagConsumerID  string  `json:"max_lag_consumer_id"`
	MaxLagInstanceID  *string `json:"max_lag_instance_id"`
	MaxLagClientID    string  `json:"max_lag_client_id"`
	MaxLagTopicName   string  `json:"max_lag_topic_name"`
	MaxLagPartitionID int32   `json:"max_lag_partition_id"`
	MaxLag            int64   `json:"max_lag"`
	TotalLag          int64   `json:"total_lag"`
	MaxLagConsumer    v3Rel   `json:"max_lag_consumer"`
	MaxLagPartition   v3Rel   `json:"max_lag_partition"`
}

// errNoOffsets is upstream's answer for the lags of a group that has
// committed no offsets.
var errNoOffsets = &apiError{http.StatusNotFound, http.StatusNotFound, "Consumer group offsets could not be found."}

// nullIfEmpty returns nil for "", which v3 answers as null.
func nullIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// group returns the {consumer_group_id} of c's path.
func (c *call) group() string { return c.pathValue("consumer_group_id") }

func (c *call) groupOf(g admin.Group) v3ConsumerGroup {
	return v3ConsumerGroup{
		Kind:                 "KafkaConsumerGroup",
		Metadata:             v3Meta{Self: c.link("consumer-groups", g.ID), ResourceName: c.crn("consumer-group", g.ID)},
		ClusterID:            c.cluster,
		ConsumerGroupID:      g.ID,
		IsSimple:             g.Simple,
		PartitionAssignor:    g.PartitionAssignor,
		State:                g.State,
		Type:                 g.Type,
		IsMixedConsumerGroup: g.Mixed,
		Coordinator:          c.rel("brokers", itoa(g.Coordinator)),
		Consumers:            c.rel("consumer-groups", g.ID, "consumers"),
		LagSummary:           c.rel("consumer-groups", g.ID, "lag-summary"),
	}
}

func (c *call) consumerOf(m admin.Consumer) v3Consumer {
	g := c.group()
	return v3Consumer{
		Kind: "KafkaConsumer",
		Metadata: v3Meta{Self: c.link("consumer-groups", g, "consumers", m.ID),
			ResourceName: c.crn("consumer-group", g, "consumer", m.ID)},
		ClusterID:       c.cluster,
		ConsumerGroupID: g,
		ConsumerID:      m.ID,
		InstanceID:      nullIfEmpty(m.InstanceID),
		ClientID:        m.ClientID,
		Assignments:     c.rel("consumer-groups", g, "consumers", m.ID, "assignments"),
	}
}

// assignmentsOf describes the partitions consumer m owns.
func (c *call) assignmentsOf(m admin.Consumer) []v3Assignment {
	g := c.group()
	return mapSlice(m.Assignments, func(tp admin.TopicPartition) v3Assignment {
		p := itoa(tp.Partition)
		return v3Assignment{
			Kind: "KafkaConsumerAssignment",
			Metadata: v3Meta{Self: c.link("consumer-groups", g, "consumers", m.ID, "assignments", tp.Topic, "partitions", p),
				ResourceName: c.crn("consumer-group", g, "consumer", m.ID, "assignment", tp.Topic, "partition", p)},
			ClusterID:       c.cluster,
			ConsumerGroupID: g,
			ConsumerID:      m.ID,
			TopicName:       tp.Topic,
			PartitionID:     tp.Partition,
			Partition:       c.rel("topics", tp.Topic, "partitions", p),
			Lag:             c.rel("consumer-groups", g, "lags", tp.Topic, "partitions", p),
		}
	})
}

func (c *call) lagOf(l admin.Lag) v3Lag {
	g, p := c.group(), itoa(l.Partition)
	return v3Lag{
		Kind: "KafkaConsumerLag",
		Metadata: v3Meta{Self: c.link("consumer-groups", g, "lags", l.Topic, "partitions", p),
			ResourceName: c.crn("consumer-group", g, "lag", l.Topic, "partition", p)},
		ClusterID:       c.cluster,
		ConsumerGroupID: g,
		TopicName:       l.Topic,
		PartitionID:     l.Partition,
		CurrentOffset:   l.CurrentOffset,
		LogEndOffset:    l.LogEndOffset,
		Lag:             l.Lag,
		ConsumerID:      l.ConsumerID,
		InstanceID:      nullIfEmpty(l.InstanceID),
		ClientID:        l.ClientID,
	}
}

// v3Groups lists the consumer groups.
func (h *handlers) v3Groups(c *call) (int, any, error) {
	after, err := c.pageToken(naming.Group)
	if err != nil {
		return 0, nil, err
	}
	page, err := c.adm.GroupsPage(c.context(), after, 0)
	if err != nil {
		return 0, nil, err
	}
	shown := visible(c, resourceGroup, opDescribe, page.Items, func(g admin.Group) string { return g.ID })
	return http.StatusOK, v3PageOf(c, "KafkaConsumerGroupList", mapSlice(shown, c.groupOf), page.Next, "consumer-groups"), nil
}

// v3Group describes one consumer group.
func (h *handlers) v3Group(c *call) (int, any, error) {
	g, err := c.adm.Group(c.context(), c.group())
	return http.StatusOK, c.groupOf(g), err
}

// v3Consumers lists a group's consumers, sorted by id.
func (h *handlers) v3Consumers(c *call) (int, any, error) {
	g, err := c.adm.Group(c.context(), c.group())
	return http.StatusOK, v3ListOf(c, "KafkaConsumerList", mapSlice(g.Consumers, c.consumerOf),
		"consumer-groups", c.group(), "consumers"), err
}

// v3Consumer describes one consumer of a group.
func (h *handlers) v3Consumer(c *call) (int, any, error) {
	m, err := c.adm.Consumer(c.context(), c.group(), c.pathValue("consumer_id"))
	return http.StatusOK, c.consumerOf(m), err
}

// v3Assignments lists the partitions a consumer owns, sorted by
// topic, then partition.
func (h *handlers) v3Assignments(c *call) (int, any, error) {
	id := c.pathValue("consumer_id")
	m, err := c.adm.Consumer(c.context(), c.group(), id)
	return http.StatusOK, v3ListOf(c, "KafkaConsumerAssignmentList", c.assignmentsOf(m),
		"consumer-groups", c.group(), "consumers", id, "assignments"), err
}

// v3Assignment describes a consumer's assignment of one partition.
func (h *handlers) v3Assignment(c *call) (int, any, error) {
	m, err := c.adm.Consumer(c.context(), c.group(), c.pathValue("consumer_id"))
	if err != nil {
		return 0, nil, err
	}
	for _, a := range c.assignmentsOf(m) {
		if a.TopicName == c.topic && a.PartitionID == c.partition {
			return http.StatusOK, a, nil
		}
	}
	return 0, nil, &apiError{http.StatusNotFound, http.StatusNotFound,
		fmt.Sprintf("consumer %s of group %s is not assigned topic %s partition %d", m.ID, c.group(), c.topic, c.partition)}
}

// v3Lags lists a group's lag on every partition it committed an
// offset for, largest lag first, then by topic and partition, as upstream
// sorts them; a group without offsets is upstream's 404.
func (h *handlers) v3Lags(c *call) (int, any, error) {
	ls, err := c.adm.Lags(c.context(), c.group())
	if err == nil && len(ls) == 0 {
		err = errNoOffsets
	}
	data := mapSlice(ls, c.lagOf)
	slices.SortStableFunc(data, func(a, b v3Lag) int {
		return cmp.Or(cmp.Compare(b.Lag, a.Lag), cmp.Compare(a.TopicName, b.TopicName), cmp.Compare(a.PartitionID, b.PartitionID))
	})
	return http.StatusOK, v3ListOf(c, "KafkaConsumerLagList", data, "consumer-groups", c.group(), "lags"), err
}

// v3Lag describes a group's lag on one partition.
func (h *handlers) v3Lag(c *call) (int, any, error) {
	l, err := c.adm.Lag(c.context(), c.group(), c.topic, c.partition)
	return http.StatusOK, c.lagOf(l), err
}

// v3LagSummary answers a group's largest and total lag; a group
// without offsets is upstream's 404.
func (h *handlers) v3LagSummary(c *call) (int, any, error) {
	g := c.group()
	s, err := c.adm.LagSummary(c.context(), g)
	if err == nil && s.MaxLagTopic == "" { // Lags had no entry
		err = errNoOffsets
	}
	p := itoa(s.MaxLagPartition)
	return http.StatusOK, v3LagSummary{
		Kind: "KafkaConsumerGroupLagSummary",
		Metadata: v3Meta{Self: c.link("consumer-groups", g, "lag-summary"),
			ResourceName: c.crn("consumer-group", g, "lag-summary")},
		ClusterID:         c.cluster,
		ConsumerGroupID:   g,
		MaxLagConsumerID:  s.MaxLagConsumerID,
		MaxLagInstanceID:  nullIfEmpty(s.MaxLagInstanceID),
		MaxLagClientID:    s.MaxLagClientID,
		MaxLagTopicName:   s.MaxLagTopic,
		MaxLagPartitionID: s.MaxLagPartition,
		MaxLag:            s.MaxLag,
		TotalLag:          s.TotalLag,
		MaxLagConsumer:    c.rel("consumer-groups", g, "consumers", s.MaxLagConsumerID),
		MaxLagPartition:   c.rel("topics", s.MaxLagTopic, "partitions", p),
	}, err
}
