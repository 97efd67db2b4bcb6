package api

import (
	"context"
	"fmt"
	"math"
	"net/http"

	"krest/internal/admin"
)

// This file holds what the Confluent REST Proxy routes of both API versions
// share: the admin interface, and path parameters, validated before any
// broker call.
//
// Routes name their path wildcards as upstream documents them, in v2 and v3
// alike: {cluster_id}, {topic_name}, {partition_id}, {broker_id}. parsePath
// validates each one a route has; add new wildcards there.

// adminer answers the metadata and admin questions of the REST Proxy
// routes; admin.Admin implements it. Its errors wrap admin's sentinels,
// which errors.go maps to statuses.
type adminer interface {
	Cluster(ctx context.Context) (admin.Cluster, error)
	ClusterID(ctx context.Context) (string, error)

	Brokers(ctx context.Context) ([]admin.Broker, error)
	Broker(ctx context.Context, id int32) (admin.Broker, error)
	BrokerConfigs(ctx context.Context, broker int32) ([]admin.Config, error)
	BrokerConfig(ctx context.Context, broker int32, name string) (admin.Config, error)

	Topics(ctx context.Context) ([]admin.Topic, error)
	TopicsPage(ctx context.Context, after string, limit int) (admin.Page[admin.Topic], error)
	TopicNames(ctx context.Context) ([]string, error)
	Topic(ctx context.Context, name string) (admin.Topic, error)
	CreateTopic(ctx context.Context, t admin.NewTopic) (admin.Topic, error)
	DeleteTopic(ctx context.Context, name string) error
	SetPartitionCount(ctx context.Context, topic string, count int) error
	Partitions(ctx context.Context, topic string) ([]admin.Partition, error)
	Partition(ctx context.Context, topic string, partition int32) (admin.Partition, error)
	Offsets(ctx context.Context, topic string, partition int32) (admin.PartitionOffsets, error)

	TopicConfigs(ctx context.Context, topic string) ([]admin.Config, error)
	AllTopicConfigs(ctx context.Context, after string, limit int) (admin.Page[admin.TopicConfigs], error)
	AllBrokerConfigs(ctx context.Context) ([]admin.BrokerConfigs, error)
	TopicConfig(ctx context.Context, topic, name string) (admin.Config, error)
	ResetTopicConfig(ctx context.Context, topic, name string) error
	AlterTopicConfigs(ctx context.Context, topic string, changes []admin.ConfigAlteration, validateOnly bool) error

	GroupsPage(ctx context.Context, after string, limit int) (admin.Page[admin.Group], error)
	Group(ctx context.Context, id string) (admin.Group, error)
	Consumer(ctx context.Context, group, consumer string) (admin.Consumer, error)
	Lags(ctx context.Context, group string) ([]admin.Lag, error)
	Lag(ctx context.Context, group, topic string, partition int32) (admin.Lag, error)
	LagSummary(ctx context.Context, group string) (admin.LagSummary, error)
}

var _ adminer = (*admin.Admin)(nil)

// pathArgs are the validated path parameters of one request. A field is
// zero when the route has no such wildcard.
type pathArgs struct {
	cluster   string // {cluster_id}, a legal Kafka name
	topic     string // {topic_name}, a legal Kafka topic name
	partition int32  // {partition_id}, non-negative
	broker    int32  // {broker_id}, non-negative
}

// parsePath validates c's path parameters by Kafka's rules, so that a bad
// topic name or cluster id is a 400 that reaches no broker and changes
// nothing.
func parsePath(c *call) (pathArgs, error) {
	var a pathArgs
	if len(c.route.params) == 0 {
		return a, nil
	}
	if id := c.pathValue("cluster_id"); id != "" {
		// Cluster ids (base64 UUIDs, or older free-form ids) follow the
		// topic name rules: the same alphabet and length limit.
		if admin.ValidTopicName(id) != nil {
			return a, &apiError{http.StatusBadRequest, codeInvalidField,
				fmt.Sprintf("cluster id %q is not valid: it must be 1 to 249 ASCII letters, digits, '.', '_' or '-'", id)}
		}
		a.cluster = id
	}
	if name, ok := c.pathValueOK("topic_name"); ok {
		if err := admin.ValidTopicName(name); err != nil {
			return a, &apiError{http.StatusBadRequest, codeInvalidField, err.Error()}
		}
		a.topic = name
	}
	for _, p := range []struct {
		name string
		dst  *int32
	}{{"partition_id", &a.partition}, {"broker_id", &a.broker}} {
		s, ok := c.pathValueOK(p.name)
		if !ok {
			continue
		}
		n, ok := parseID(s)
		if !ok {
			return a, &apiError{http.StatusBadRequest, codeInvalidField,
				fmt.Sprintf("%s must be a non-negative integer, not %q", p.name, s)}
		}
		*p.dst = n
	}
	return a, nil
}

// parseID parses a partition or broker id: decimal digits only (no sign),
// within int32.
func parseID(s string) (int32, bool) {
	if s == "" || len(s) > 10 {
		return 0, false
	}
	var n int64
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int64(s[i]-'0')
	}
	if n > math.MaxInt32 {
		return 0, false
	}
	return int32(n), true
}

// mapSlice returns f applied to every element of s, never nil, so that an
// empty list encodes as [] rather than null.
func mapSlice[S, T any](s []S, f func(S) T) []T {
	out := make([]T, 0, len(s))
	for _, v := range s {
		out = append(out, f(v))
	}
	return out
}
