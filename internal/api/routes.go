package api

import "net/http"

// addRoutes registers every route krest serves on mux and returns their
// patterns, in order: openapi_test.go checks them against openapi.yaml, so
// a new route needs its entry there. Routes that do work against Kafka are
// wrapped in the in-flight limit; health and metrics are not, so they
// answer under overload. API v2 routes are also wrapped in withV2 (content
// negotiation); each REST Proxy version exists only when switched on.
func addRoutes(mux *http.ServeMux, opts Options) []string {
	var patterns []string
	handle := func(pattern string, h http.Handler) {
		mux.Handle(pattern, h)
		patterns = append(patterns, pattern)
	}
	limit := limitInFlight(opts.MaxInFlight)
	v2 := func(h http.Handler) http.Handler { return withV2(limit(h)) }
	adm, maxBody := opts.Admin, opts.MaxBodyBytes

	handle("POST /api/messages", limit(handleMessages(opts.Producer, opts.Topic, opts.MaxBodyBytes)))

	handle("GET /healthz", handleHealthz())
	handle("GET /readyz", handleReadyz(opts.Health))
	handle("GET /metrics", opts.Metrics.Handler())
	handle("GET /openapi.yaml", handleOpenAPI(openapiYAML, "application/yaml"))
	handle("GET /openapi.json", handleOpenAPI(openapiJSON, "application/json"))

	if opts.APIV2 {
		handle("GET /{$}", v2(handleV2Root()))
		handle("GET /topics", v2(handleV2Topics(adm)))
		handle("GET /topics/{topic_name}", v2(handleV2Topic(adm)))
		handle("GET /topics/{topic_name}/partitions", v2(handleV2Partitions(adm)))
		handle("GET /topics/{topic_name}/partitions/{partition_id}", v2(handleV2Partition(adm)))
		handle("GET /topics/{topic_name}/partitions/{partition_id}/offsets", v2(handleV2Offsets(adm)))
		handle("GET /brokers", v2(handleV2Brokers(adm)))
		handle("POST /topics/{topic_name}", v2(handleV2Produce(opts.Producer, maxBody)))
		handle("POST /topics/{topic_name}/partitions/{partition_id}", v2(handleV2Produce(opts.Producer, maxBody)))
	}

	if opts.APIV3 {
		const c = "/v3/clusters/{cluster_id}"
		handle("GET /v3/clusters", limit(handleV3Clusters(adm)))
		handle("GET "+c, limit(handleV3Cluster(adm)))

		handle("GET "+c+"/brokers", limit(handleV3Brokers(adm)))
		handle("GET "+c+"/brokers/{broker_id}", limit(handleV3Broker(adm)))
		handle("GET "+c+"/brokers/{broker_id}/configs", limit(handleV3BrokerConfigs(adm)))
		handle("GET "+c+"/brokers/{broker_id}/configs/{name}", limit(handleV3BrokerConfig(adm)))
		handle("GET "+c+"/brokers/-/configs", limit(handleV3AllBrokerConfigs(adm)))
		handle("GET "+c+"/brokers/{broker_id}/partition-replicas", limit(handleV3BrokerReplicas(adm)))

		handle("GET "+c+"/topics", limit(handleV3Topics(adm)))
		handle("POST "+c+"/topics", limit(handleV3CreateTopic(adm, maxBody)))
		handle("GET "+c+"/topics/{topic_name}", limit(handleV3Topic(adm)))
		handle("PATCH "+c+"/topics/{topic_name}", limit(handleV3UpdatePartitionCount(adm, maxBody)))
		handle("DELETE "+c+"/topics/{topic_name}", limit(handleV3DeleteTopic(adm)))

		handle("GET "+c+"/topics/{topic_name}/configs", limit(handleV3TopicConfigs(adm)))
		handle("POST "+c+"/topics/{topic_name}/configs:alter", limit(handleV3AlterTopicConfigs(adm, maxBody)))
		handle("GET "+c+"/topics/{topic_name}/configs/{name}", limit(handleV3TopicConfig(adm)))
		handle("PUT "+c+"/topics/{topic_name}/configs/{name}", limit(handleV3UpdateTopicConfig(adm, maxBody)))
		handle("DELETE "+c+"/topics/{topic_name}/configs/{name}", limit(handleV3ResetTopicConfig(adm)))
		handle("GET "+c+"/topics/-/configs", limit(handleV3AllTopicConfigs(adm)))

		handle("POST "+c+"/topics/{topic_name}/records", limit(handleV3Records(opts.Producer, adm, maxBody)))
		handle("POST "+c+"/topics/{topic_name}/records:batch", limit(handleV3Batch(opts.Producer, adm, maxBody, opts.BatchMaxEntries)))

		handle("GET "+c+"/topics/{topic_name}/partitions", limit(handleV3Partitions(adm)))
		handle("GET "+c+"/topics/{topic_name}/partitions/{partition_id}", limit(handleV3Partition(adm)))
		handle("GET "+c+"/topics/{topic_name}/partitions/{partition_id}/offset", limit(handleV3PartitionOffsets(adm)))
		handle("GET "+c+"/topics/{topic_name}/partitions/{partition_id}/replicas", limit(handleV3Replicas(adm)))
		handle("GET "+c+"/topics/{topic_name}/partitions/{partition_id}/replicas/{broker_id}", limit(handleV3Replica(adm)))

		handle("GET "+c+"/consumer-groups", limit(handleV3Groups(adm)))
		handle("GET "+c+"/consumer-groups/{consumer_group_id}", limit(handleV3Group(adm)))
		handle("GET "+c+"/consumer-groups/{consumer_group_id}/consumers", limit(handleV3Consumers(adm)))
		handle("GET "+c+"/consumer-groups/{consumer_group_id}/consumers/{consumer_id}", limit(handleV3Consumer(adm)))
		handle("GET "+c+"/consumer-groups/{consumer_group_id}/consumers/{consumer_id}/assignments", limit(handleV3Assignments(adm)))
		handle("GET "+c+"/consumer-groups/{consumer_group_id}/consumers/{consumer_id}/assignments/{topic_name}/partitions/{partition_id}", limit(handleV3Assignment(adm)))
		handle("GET "+c+"/consumer-groups/{consumer_group_id}/lags", limit(handleV3Lags(adm)))
		handle("GET "+c+"/consumer-groups/{consumer_group_id}/lags/{topic_name}/partitions/{partition_id}", limit(handleV3Lag(adm)))
		handle("GET "+c+"/consumer-groups/{consumer_group_id}/lag-summary", limit(handleV3LagSummary(adm)))
	}

	mux.Handle("/", handleNotFound(mux))
	return patterns
}
