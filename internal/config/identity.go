package config

import (
	"flag"
	"strings"
)

// The identities krest acts as at Kafka (KafkaIdentity).
const (
	identityService     = "service"
	identityPassthrough = "passthrough"
	identityMapped      = "mapped"
)

// The authorization modes (AuthzMode).
const (
	authzLocal = "local"
	authzKafka = "kafka"
	authzBoth  = "both"
)

// identityFlags registers the flags of the identity and authorization
// mode settings on fs.
func identityFlags(fs *flag.FlagSet, c *Config) {
	fs.StringVar(&c.KafkaIdentity, "kafka-identity", c.KafkaIdentity, "whose login requests act through at Kafka: service (krest's), passthrough (the caller's credentials) or mapped (KREST_KAFKA_IDENTITY_MAP_FILE) (KREST_KAFKA_IDENTITY)")
	fs.StringVar(&c.KafkaIdentityMechanism, "kafka-identity-mechanism", c.KafkaIdentityMechanism, "SASL mechanism of a caller's Basic credentials under passthrough: SCRAM-SHA-512, SCRAM-SHA-256 or PLAIN (KREST_KAFKA_IDENTITY_MECHANISM)")
	fs.StringVar(&c.KafkaIdentityMapFile, "kafka-identity-map-file", c.KafkaIdentityMapFile, "YAML file mapping principals to Kafka logins, reloaded when it changes (KREST_KAFKA_IDENTITY_MAP_FILE)")
	fs.IntVar(&c.KafkaIdentityPoolSize, "kafka-identity-pool-size", c.KafkaIdentityPoolSize, "Kafka clients kept for callers' logins; past it, the least recently used closes (KREST_KAFKA_IDENTITY_POOL_SIZE)")
	fs.DurationVar(&c.KafkaIdentityIdleTimeout, "kafka-identity-idle-timeout", c.KafkaIdentityIdleTimeout, "how long a caller's Kafka client stays open unused (KREST_KAFKA_IDENTITY_IDLE_TIMEOUT)")
	fs.IntVar(&c.KafkaIdentityMaxBufferedRecords, "kafka-identity-max-buffered-records", c.KafkaIdentityMaxBufferedRecords, "records waiting in each caller's producer before its produce answers 503 (KREST_KAFKA_IDENTITY_MAX_BUFFERED_RECORDS)")
	fs.IntVar(&c.KafkaIdentityMaxBufferedBytes, "kafka-identity-max-buffered-bytes", c.KafkaIdentityMaxBufferedBytes, "bytes waiting in each caller's producer before its produce answers 503 (KREST_KAFKA_IDENTITY_MAX_BUFFERED_BYTES)")
	fs.StringVar(&c.AuthzMode, "authz-mode", c.AuthzMode, "who authorizes: local (the authorization file), kafka (the brokers, as each caller) or both (KREST_AUTHZ_MODE)")
}

// loadIdentity completes the identity settings after parsing: names in
// their canonical case.
func (c *Config) loadIdentity() {
	c.KafkaIdentity = strings.ToLower(strings.TrimSpace(c.KafkaIdentity))
	c.KafkaIdentityMechanism = strings.ToUpper(strings.TrimSpace(c.KafkaIdentityMechanism))
	c.AuthzMode = strings.ToLower(strings.TrimSpace(c.AuthzMode))
}

// LocalAuthz reports whether the authorization file's rules apply:
// AuthzMode local or both. In kafka mode only the brokers decide.
func (c Config) LocalAuthz() bool { return c.AuthzMode != authzKafka }

// validateIdentity reports, through bad, the identity and authorization
// mode settings that cannot work or would have no effect.
func (c Config) validateIdentity(bad func(string, ...any)) {
	switch c.AuthzMode {
	case authzLocal:
	case authzKafka, authzBoth:
		if c.KafkaIdentity == identityService {
			bad("KREST_AUTHZ_MODE=%s has the brokers decide through each caller's own login, but KREST_KAFKA_IDENTITY is service, so they would see only krest's: set KREST_KAFKA_IDENTITY to passthrough or mapped", c.AuthzMode)
		}
		switch {
		case c.AuthzMode == authzKafka && c.AuthzFile != "":
			bad("KREST_AUTHZ_MODE=kafka has the brokers decide alone, so KREST_AUTHZ_FILE would be ignored: unset it, or set KREST_AUTHZ_MODE=both")
		case c.AuthzMode == authzBoth && c.AuthzFile == "":
			bad("KREST_AUTHZ_MODE=both needs the local rules of KREST_AUTHZ_FILE")
		}
	default:
		bad("authorization mode must be local, kafka or both, not %q", c.AuthzMode)
	}
	switch c.KafkaIdentity {
	case identityService:
		if c.KafkaIdentityMapFile != "" {
			bad("KREST_KAFKA_IDENTITY_MAP_FILE set, but KREST_KAFKA_IDENTITY is service, which does not use it: set KREST_KAFKA_IDENTITY=mapped (or passthrough)")
		}
		return
	case identityPassthrough:
		if len(c.AuthMethods()) == 0 {
			bad("KREST_KAFKA_IDENTITY=passthrough passes on each caller's credentials, but KREST_AUTH is none, so callers bring none: set KREST_AUTH")
		}
	case identityMapped:
		if c.KafkaIdentityMapFile == "" {
			bad("KREST_KAFKA_IDENTITY=mapped needs the map of principals to Kafka logins: set KREST_KAFKA_IDENTITY_MAP_FILE")
		}
	default:
		bad("kafka identity must be service, passthrough or mapped, not %q", c.KafkaIdentity)
		return
	}
	switch c.KafkaIdentityMechanism {
	case mechScram512, mechScram256, mechPlain:
	default:
		bad("kafka identity mechanism must be SCRAM-SHA-512, SCRAM-SHA-256 or PLAIN, not %q", c.KafkaIdentityMechanism)
	}
	switch {
	case c.Embedded():
		bad("KREST_KAFKA_IDENTITY=%s needs KREST_BROKERS: the embedded broker knows one user, krest's own", c.KafkaIdentity)
	case c.KafkaSASLMechanism == "":
		bad("KREST_KAFKA_IDENTITY=%s logs each caller in to the brokers with SASL, so their listener takes SASL: set krest's own login there too (KREST_KAFKA_SASL_MECHANISM)", c.KafkaIdentity)
	}
	if c.KafkaIdentityPoolSize < 1 {
		bad("kafka identity pool size must be positive, not %d", c.KafkaIdentityPoolSize)
	}
	if c.KafkaIdentityIdleTimeout <= 0 {
		bad("kafka identity idle timeout must be positive, not %s", c.KafkaIdentityIdleTimeout)
	}
	if c.KafkaIdentityMaxBufferedRecords < 1 {
		bad("kafka identity max buffered records must be positive, not %d", c.KafkaIdentityMaxBufferedRecords)
	}
	if int64(c.KafkaIdentityMaxBufferedBytes) < c.MaxBodyBytes {
		bad("kafka identity max buffered bytes (%d) must be at least the max body bytes (%d), so that a request as large as allowed fits a caller's producer",
			c.KafkaIdentityMaxBufferedBytes, c.MaxBodyBytes)
	}
}
