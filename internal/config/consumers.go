package config

import (
	"flag"
	"os"
	"time"
)

// ConsumerInstances are the settings of the API v2 consumer instances:
// see consumers.go, which registers their flags and checks them.
type ConsumerInstances struct {
	// NodeID names this krest node in the ids of the consumer instances
	// it creates (rest-consumer-{node}-{uuid}), so that any node can tell
	// which one holds an instance: up to 64 bytes, of which any but
	// letters, digits, '.' and '_' stand as '_' in ids
	// (consumers.SanitizeNode). Default the host name; --node-id,
	// KREST_NODE_ID.
	NodeID string
	// ConsumerInstanceTimeout closes a consumer instance no request used
	// for this long: it leaves its group. Default 5m;
	// --consumer-instance-timeout, KREST_CONSUMER_INSTANCE_TIMEOUT.
	ConsumerInstanceTimeout time.Duration
	// ConsumerMaxInstances bounds the consumer instances open on this
	// node, each with its own Kafka client; past it, creating one answers
	// 503. Default 1000; --consumer-max-instances,
	// KREST_CONSUMER_MAX_INSTANCES.
	ConsumerMaxInstances int
	// ConsumerRecordMetadata adds each record's timestamp and headers to
	// what a consumer instance reads, beside upstream's fields; off for
	// clients that refuse fields they do not know. Default true;
	// --consumer-record-metadata, KREST_CONSUMER_RECORD_METADATA.
	ConsumerRecordMetadata bool
}

// consumerInstanceDefaults returns the consumer instance settings'
// defaults: NodeID is the host name.
func consumerInstanceDefaults() ConsumerInstances {
	host, _ := os.Hostname()
	return ConsumerInstances{NodeID: host, ConsumerInstanceTimeout: 5 * time.Minute, ConsumerMaxInstances: 1000,
		ConsumerRecordMetadata: true}
}

// consumerFlags registers the flags of the consumer instance settings on
// fs.
func consumerFlags(fs *flag.FlagSet, c *Config) {
	fs.StringVar(&c.NodeID, "node-id", c.NodeID, "this node's name in consumer instance ids; default the host name (KREST_NODE_ID)")
	fs.DurationVar(&c.ConsumerInstanceTimeout, "consumer-instance-timeout", c.ConsumerInstanceTimeout, "how long a v2 consumer instance stays open unused (KREST_CONSUMER_INSTANCE_TIMEOUT)")
	fs.IntVar(&c.ConsumerMaxInstances, "consumer-max-instances", c.ConsumerMaxInstances, "v2 consumer instances open on this node before creating one answers 503 (KREST_CONSUMER_MAX_INSTANCES)")
	fs.BoolVar(&c.ConsumerRecordMetadata, "consumer-record-metadata", c.ConsumerRecordMetadata, "add timestamp and headers to the records v2 consumer instances read (KREST_CONSUMER_RECORD_METADATA)")
}

// validateConsumers reports, through bad, consumer instance settings that
// cannot work.
func (c Config) validateConsumers(bad func(string, ...any)) {
	if c.NodeID == "" || len(c.NodeID) > 64 {
		bad("node id must be 1 to 64 bytes, not %q: set KREST_NODE_ID", c.NodeID)
	}
	if c.ConsumerInstanceTimeout < time.Second {
		bad("consumer instance timeout must be at least 1s, not %s", c.ConsumerInstanceTimeout)
	}
	if c.ConsumerMaxInstances < 1 {
		bad("consumer max instances must be positive, not %d", c.ConsumerMaxInstances)
	}
}
