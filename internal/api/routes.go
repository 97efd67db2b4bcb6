package api

// routes returns every route krest serves, in one table: each row states its
// method and pattern, the resource it touches (and which path value names
// it), the operation it performs on it, and its handler. One frame
// (frame.go) runs every handler: path values, body limits, the in-flight
// limit, errors, metrics and the request id. openapi_test.go checks the
// table against openapi.yaml, so a new route needs its entry there, and
// routes_test.go that every row names a resource and an operation. Each
// REST Proxy version's rows exist only when it is switched on, and health
// and metrics only when no management listener serves them.
func routes(opts Options, h *handlers) []*route {
	rs := []*route{
		{method: "POST", pattern: "/api/messages", resource: resourceTopic, name: opts.Topic, op: opWrite, handle: h.messages, body: bodyWhole},

		{method: "GET", pattern: "/openapi.yaml", resource: resourceServer, op: opDescribe, handle: handleOpenAPI(openapiYAML, "application/yaml"), unlimited: true},
		{method: "GET", pattern: "/openapi.json", resource: resourceServer, op: opDescribe, handle: handleOpenAPI(openapiJSON, "application/json"), unlimited: true},
	}
	if !opts.Management {
		rs = append(rs,
			&route{method: "GET", pattern: "/healthz", resource: resourceServer, op: opDescribe, handle: handleHealthz, unlimited: true},
			&route{method: "GET", pattern: "/readyz", resource: resourceServer, op: opDescribe, handle: h.readyz, unlimited: true},
			&route{method: "GET", pattern: "/metrics", resource: resourceServer, op: opDescribe, handle: h.metrics, unlimited: true},
		)
	}
	const (
		t = "/topics/{topic_name}"
		p = t + "/partitions/{partition_id}"
	)
	if opts.APIV2 {
		rs = append(rs, v2Routes(
			&route{method: "GET", pattern: "/", resource: resourceCluster, op: opDescribe, handle: handleV2Root},
			&route{method: "GET", pattern: "/topics", resource: resourceTopic, op: opDescribe, handle: h.v2Topics, listing: true},
			&route{method: "GET", pattern: t, resource: resourceTopic, op: opDescribe, handle: h.v2Topic},
			&route{method: "GET", pattern: t + "/partitions", resource: resourceTopic, op: opDescribe, handle: h.v2Partitions},
			&route{method: "GET", pattern: p, resource: resourceTopic, op: opDescribe, handle: h.v2Partition},
			&route{method: "GET", pattern: p + "/offsets", resource: resourceTopic, op: opDescribe, handle: h.v2Offsets},
			&route{method: "GET", pattern: "/brokers", resource: resourceCluster, op: opDescribe, handle: h.v2Brokers},
			&route{method: "POST", pattern: t, resource: resourceTopic, op: opWrite, handle: h.v2Produce, body: bodyWhole},
			&route{method: "POST", pattern: p, resource: resourceTopic, op: opWrite, handle: h.v2Produce, body: bodyWhole},
		)...)
		// The consumer instances: a group's, each named by the path values
		// group_name and instance, and served by the node that owns it
		// (forward.go) wherever the request lands.
		const (
			cg = "/consumers/{group_name}"
			ci = cg + "/instances/{instance}"
		)
		rs = append(rs, v2Routes(
			&route{method: "POST", pattern: cg, resource: resourceGroup, param: "group_name", op: opRead, handle: h.v2CreateConsumer, body: bodyWhole},
			&route{method: "DELETE", pattern: ci, resource: resourceGroup, param: "group_name", op: opRead, instance: true, handle: h.v2DeleteConsumer},
			&route{method: "POST", pattern: ci + "/subscription", resource: resourceGroup, param: "group_name", op: opRead, instance: true, handle: h.v2Subscribe, body: bodyWhole},
			&route{method: "GET", pattern: ci + "/subscription", resource: resourceGroup, param: "group_name", op: opRead, instance: true, handle: h.v2Subscription},
			&route{method: "DELETE", pattern: ci + "/subscription", resource: resourceGroup, param: "group_name", op: opRead, instance: true, handle: h.v2Unsubscribe},
			&route{method: "POST", pattern: ci + "/assignments", resource: resourceGroup, param: "group_name", op: opRead, instance: true, handle: h.v2Assign, body: bodyWhole},
			&route{method: "GET", pattern: ci + "/assignments", resource: resourceGroup, param: "group_name", op: opRead, instance: true, handle: h.v2Assignments},
			&route{method: "POST", pattern: ci + "/positions", resource: resourceGroup, param: "group_name", op: opRead, instance: true, handle: h.v2Seek, body: bodyWhole},
			&route{method: "POST", pattern: ci + "/positions/beginning", resource: resourceGroup, param: "group_name", op: opRead, instance: true, handle: h.v2SeekEdge(false), body: bodyWhole},
			&route{method: "POST", pattern: ci + "/positions/end", resource: resourceGroup, param: "group_name", op: opRead, instance: true, handle: h.v2SeekEdge(true), body: bodyWhole},
			&route{method: "POST", pattern: ci + "/offsets", resource: resourceGroup, param: "group_name", op: opRead, instance: true, handle: h.v2Commit, body: bodyWhole},
			&route{method: "GET", pattern: ci + "/offsets", resource: resourceGroup, param: "group_name", op: opRead, instance: true, handle: h.v2Committed, body: bodyWhole},
			&route{method: "GET", pattern: ci + "/records", resource: resourceGroup, param: "group_name", op: opRead, instance: true, embeddedAccept: true, handle: h.v2Records},
		)...)
	}
	if opts.APIV3 {
		const (
			c  = "/v3/clusters/{cluster_id}"
			b  = c + "/brokers/{broker_id}"
			vt = c + t
			vp = c + p
			g  = c + "/consumer-groups/{consumer_group_id}"
			m  = g + "/consumers/{consumer_id}"
			// A share group's work queue (v3_share_groups.go): its
			// records are read from the topics a request names, each of
			// which the handler checks the caller may read.
			sg = c + "/share-groups/{group_name}"
		)
		rs = append(rs, v3Routes(
			&route{method: "GET", pattern: "/v3/clusters", resource: resourceCluster, op: opDescribe, handle: h.v3Clusters},
			&route{method: "GET", pattern: c, resource: resourceCluster, op: opDescribe, handle: h.v3Cluster},

			&route{method: "GET", pattern: c + "/brokers", resource: resourceCluster, op: opDescribe, handle: h.v3Brokers},
			&route{method: "GET", pattern: b, resource: resourceCluster, op: opDescribe, handle: h.v3Broker},
			&route{method: "GET", pattern: b + "/configs", resource: resourceCluster, op: opDescribeConfigs, handle: h.v3BrokerConfigs},
			&route{method: "GET", pattern: b + "/configs/{name}", resource: resourceCluster, op: opDescribeConfigs, handle: h.v3BrokerConfig},
			&route{method: "GET", pattern: c + "/brokers/-/configs", resource: resourceCluster, op: opDescribeConfigs, handle: h.v3AllBrokerConfigs},
			&route{method: "GET", pattern: b + "/partition-replicas", resource: resourceCluster, op: opDescribe, handle: h.v3BrokerReplicas},

			&route{method: "GET", pattern: c + "/topics", resource: resourceTopic, op: opDescribe, handle: h.v3Topics, listing: true},
			&route{method: "POST", pattern: c + "/topics", resource: resourceTopic, op: opCreate, nameInBody: true, handle: h.v3CreateTopic, body: bodyWhole},
			&route{method: "GET", pattern: vt, resource: resourceTopic, op: opDescribe, handle: h.v3Topic},
			&route{method: "PATCH", pattern: vt, resource: resourceTopic, op: opAlter, handle: h.v3UpdatePartitionCount, body: bodyWhole},
			&route{method: "DELETE", pattern: vt, resource: resourceTopic, op: opDelete, handle: h.v3DeleteTopic},

			&route{method: "GET", pattern: vt + "/configs", resource: resourceTopic, op: opDescribeConfigs, handle: h.v3TopicConfigs},
			&route{method: "POST", pattern: vt + "/configs:alter", resource: resourceTopic, op: opAlterConfigs, handle: h.v3AlterTopicConfigs, body: bodyWhole},
			&route{method: "GET", pattern: vt + "/configs/{name}", resource: resourceTopic, op: opDescribeConfigs, handle: h.v3TopicConfig},
			&route{method: "PUT", pattern: vt + "/configs/{name}", resource: resourceTopic, op: opAlterConfigs, handle: h.v3UpdateTopicConfig, body: bodyWhole},
			&route{method: "DELETE", pattern: vt + "/configs/{name}", resource: resourceTopic, op: opAlterConfigs, handle: h.v3ResetTopicConfig},
			&route{method: "GET", pattern: c + "/topics/-/configs", resource: resourceTopic, op: opDescribeConfigs, listing: true, handle: h.v3AllTopicConfigs},

			&route{method: "POST", pattern: vt + "/records", resource: resourceTopic, op: opWrite, handle: h.v3Records, body: bodyStream},
			&route{method: "POST", pattern: vt + "/records:batch", resource: resourceTopic, op: opWrite, handle: h.v3Batch, body: bodyWhole},
			&route{method: "GET", pattern: vt + "/records:stream", resource: resourceTopic, op: opRead, handle: h.v3Events, body: bodyStream},

			&route{method: "GET", pattern: vt + "/partitions", resource: resourceTopic, op: opDescribe, handle: h.v3Partitions},
			&route{method: "GET", pattern: vp, resource: resourceTopic, op: opDescribe, handle: h.v3Partition},
			&route{method: "GET", pattern: vp + "/offset", resource: resourceTopic, op: opDescribe, handle: h.v3PartitionOffsets},
			&route{method: "GET", pattern: vp + "/records", resource: resourceTopic, op: opRead, handle: h.v3PartitionRecords},
			&route{method: "GET", pattern: vp + "/replicas", resource: resourceTopic, op: opDescribe, handle: h.v3Replicas},
			&route{method: "GET", pattern: vp + "/replicas/{broker_id}", resource: resourceTopic, op: opDescribe, handle: h.v3Replica},

			&route{method: "GET", pattern: c + "/consumer-groups", resource: resourceGroup, op: opDescribe, handle: h.v3Groups, listing: true},
			&route{method: "GET", pattern: g, resource: resourceGroup, op: opDescribe, handle: h.v3Group},
			&route{method: "GET", pattern: g + "/consumers", resource: resourceGroup, op: opDescribe, handle: h.v3Consumers},
			&route{method: "GET", pattern: m, resource: resourceGroup, op: opDescribe, handle: h.v3Consumer},
			&route{method: "GET", pattern: m + "/assignments", resource: resourceGroup, op: opDescribe, handle: h.v3Assignments},
			&route{method: "GET", pattern: m + "/assignments/{topic_name}/partitions/{partition_id}", resource: resourceGroup, op: opDescribe, handle: h.v3Assignment},
			&route{method: "GET", pattern: g + "/lags", resource: resourceGroup, op: opDescribe, handle: h.v3Lags},
			&route{method: "GET", pattern: g + "/lags/{topic_name}/partitions/{partition_id}", resource: resourceGroup, op: opDescribe, handle: h.v3Lag},
			&route{method: "GET", pattern: g + "/lag-summary", resource: resourceGroup, op: opDescribe, handle: h.v3LagSummary},

			&route{method: "POST", pattern: sg + "/records:lease", resource: resourceGroup, param: "group_name", op: opRead, handle: h.v3ShareLease, body: bodyWhole},
			&route{method: "POST", pattern: sg + "/acks", resource: resourceGroup, param: "group_name", op: opRead, handle: h.v3ShareAcks, body: bodyWhole},
			&route{method: "GET", pattern: sg + "/records:stream", resource: resourceGroup, param: "group_name", op: opRead, handle: h.v3ShareStream, body: bodyStream},
		)...)
	}
	for _, r := range rs {
		r.init()
	}
	return rs
}

// v2Routes marks rs as API v2 routes: content negotiation, v2's media type
// on every answer, v2's error codes.
func v2Routes(rs ...*route) []*route {
	for _, r := range rs {
		r.version = apiV2
	}
	return rs
}

// v3Routes marks rs as API v3 routes: the cluster id checked, v3's error
// codes.
func v3Routes(rs ...*route) []*route {
	for _, r := range rs {
		r.version = apiV3
	}
	return rs
}
