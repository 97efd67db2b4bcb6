// Package config loads krest's settings from flags, the environment and
// defaults, in that order of precedence, and validates them. It imports
// only the standard library and naming (Kafka's name rules, itself
// standard library only).
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"krest/internal/naming"
)

// Config holds every krest setting. Each field's comment gives its default,
// its flag and its environment variable.
type Config struct {
	// HTTPAddr is where the HTTP API listens. Default ":8080";
	// --http-addr, KREST_HTTP_ADDR.
	HTTPAddr string
	// Brokers are the seed brokers of the Kafka cluster. Empty (the default)
	// starts the embedded broker; --brokers, KREST_BROKERS (comma-separated).
	Brokers []string
	// EmbeddedAddr is where the embedded broker listens. Default
	// "127.0.0.1:9092"; --embedded-addr, KREST_EMBEDDED_ADDR.
	EmbeddedAddr string
	// DataDir is the embedded broker's storage. Default "./krest-data";
	// --data-dir, KREST_DATA_DIR.
	DataDir string
	// InMemory runs the embedded broker without disk. Default false;
	// --in-memory, KREST_IN_MEMORY.
	InMemory bool
	// Topic is the topic POST /api/messages produces to and the consumer
	// reads. Default "messages"; --topic, KREST_TOPIC.
	Topic string
	// Group is the consumer group. Default "message-consumer-group";
	// --group, KREST_GROUP.
	Group string
	// DLQTopic receives records the consumer cannot process. Default
	// "<topic>.dlq"; --dlq-topic, KREST_DLQ_TOPIC.
	DLQTopic string
	// Partitions is the partition count of topics krest creates. Default 3;
	// --partitions, KREST_PARTITIONS.
	Partitions int
	// ReplicationFactor of topics krest creates; -1 takes the broker's
	// default. Default -1; --replication-factor, KREST_REPLICATION_FACTOR.
	ReplicationFactor int
	// CreateTopics makes krest create Topic and DLQTopic when they are
	// missing. Default true; --create-topics, KREST_CREATE_TOPICS.
	CreateTopics bool
	// AutoCreateTopics lets a produce request create the topic it names when
	// that topic is missing, as brokers with auto.create.topics.enable do
	// for clients that ask (the embedded broker always allows it, as Kafka
	// does by default, but only for clients that ask). Default false;
	// --auto-create-topics, KREST_AUTO_CREATE_TOPICS.
	AutoCreateTopics bool
	// ClientID is the Kafka client id. Default "krest"; --client-id,
	// KREST_CLIENT_ID.
	ClientID string
	// ProduceTimeout bounds a produce request from receipt to the broker's
	// acknowledgement. Default 10s; --produce-timeout, KREST_PRODUCE_TIMEOUT.
	ProduceTimeout time.Duration
	// MaxBodyBytes limits a request body. Default 1048576; --max-body-bytes,
	// KREST_MAX_BODY_BYTES.
	MaxBodyBytes int64
	// BatchMaxEntries bounds the entries of one records:batch request.
	// Default 1000; --batch-max-entries, KREST_BATCH_MAX_ENTRIES.
	BatchMaxEntries int
	// MaxBufferedRecords bounds the records waiting in the producer; past it,
	// produce answers 503. Default 100000; --max-buffered-records,
	// KREST_MAX_BUFFERED_RECORDS.
	MaxBufferedRecords int
	// Linger is how long the producer waits for more records before sending
	// a partition's batch: fewer, larger batches cost the gateway and the
	// brokers less CPU per record, for that much more latency. Default 0:
	// a batch is sent as soon as the client may send one, and while a
	// broker holds its five produce requests in flight, records gather
	// into the next batch all the same; --linger, KREST_LINGER.
	Linger time.Duration
	// Compression is the codec of produced batches, by its name in
	// Kafka's compression.type: one of Compressions. Default snappy;
	// --compression, KREST_COMPRESSION.
	Compression string
	// MaxBufferedBytes bounds the bytes of records waiting in the producer;
	// past it, produce answers 503. Default 268435456 (256 MiB);
	// --max-buffered-bytes, KREST_MAX_BUFFERED_BYTES.
	MaxBufferedBytes int
	// MaxInFlight bounds the API requests served at once; past it, requests
	// get 429 with Retry-After. Default 1024; --max-in-flight,
	// KREST_MAX_IN_FLIGHT.
	MaxInFlight int
	// Consumer runs the background consumer group. Default true; --consumer,
	// KREST_CONSUMER.
	Consumer bool
	// SessionTimeout is how long the group waits for a silent member (a
	// crashed krest) before giving its partitions to others. Default 45s;
	// --session-timeout, KREST_SESSION_TIMEOUT.
	SessionTimeout time.Duration
	// ShutdownTimeout bounds a graceful shutdown. Default 30s;
	// --shutdown-timeout, KREST_SHUTDOWN_TIMEOUT.
	ShutdownTimeout time.Duration
	// MgmtAddr, when set, is the management listener's address: /healthz,
	// /readyz, /metrics and Go's profiler (/debug/pprof/) are served there,
	// on plain HTTP, and leave the API listener. Default "" (none);
	// --mgmt-addr, KREST_MGMT_ADDR.
	MgmtAddr string
	// TLSCert and TLSKey are the API listener's certificate (with its
	// chain) and key, PEM: set, the API is served over HTTPS, and a
	// change to the files takes effect without a restart. Default "";
	// --tls-cert, KREST_TLS_CERT; --tls-key, KREST_TLS_KEY.
	TLSCert, TLSKey string
	// TLSClientCA holds the PEM certificates client certificates must
	// chain to. Default ""; --tls-client-ca, KREST_TLS_CLIENT_CA.
	TLSClientCA string
	// TLSClientAuth is none, request (verified if given) or require.
	// Default "none"; --tls-client-auth, KREST_TLS_CLIENT_AUTH.
	TLSClientAuth string
	// TLSMinVersion is the lowest TLS version the API accepts, 1.2 or 1.3.
	// Default "1.2"; --tls-min-version, KREST_TLS_MIN_VERSION.
	TLSMinVersion string
	// LogFormat is "text" or "json". Default "text"; --log-format,
	// KREST_LOG_FORMAT.
	LogFormat string
	// LogLevel is "debug", "info", "warn" or "error". Default "info";
	// --log-level, KREST_LOG_LEVEL.
	LogLevel string
	// APIV2 serves Confluent REST Proxy API v2 at the root, as upstream's
	// api.v2.enable does. Default true; --api-v2, KREST_API_V2.
	APIV2 bool
	// APIV3 serves Confluent REST Proxy API v3 under /v3, as upstream's
	// api.v3.enable does. Default true; --api-v3, KREST_API_V3.
	APIV3 bool
	// AdvertisedURL is the public base URL links in answers start with
	// (e.g. https://kafka-rest.example.com). Default "" (the request's
	// Host header when well-formed); --advertised-url, KREST_ADVERTISED_URL.
	AdvertisedURL string
	// ShutdownDelay is how long readiness fails before the listener stops
	// accepting, so that load balancers see it first. Default 5s;
	// --shutdown-delay, KREST_SHUTDOWN_DELAY.
	ShutdownDelay time.Duration
	// MaxHeaderBytes limits a request's line and headers (431 past it).
	// Default 16384; --max-header-bytes, KREST_MAX_HEADER_BYTES.
	MaxHeaderBytes int
	// MaxStreams bounds the streamed records requests open at once.
	// Default 256; --max-streams, KREST_MAX_STREAMS.
	MaxStreams int
	// MaxConns bounds the open HTTP connections. Default 16384;
	// --max-conns, KREST_MAX_CONNS.
	MaxConns int
	// MaxConnsPerAddr bounds the open HTTP connections from one client
	// address; 0 is no bound (behind a load balancer, every connection
	// comes from its address). Default 0; --max-conns-per-addr,
	// KREST_MAX_CONNS_PER_ADDR.
	MaxConnsPerAddr int
	// ReadTimeout bounds reading a request, headers and body, from its
	// first byte (a stream's body excepted). Default 30s; --read-timeout,
	// KREST_READ_TIMEOUT.
	ReadTimeout time.Duration
	// IdleTimeout bounds the wait for the next request on a keep-alive
	// connection. Default 2m; --idle-timeout, KREST_IDLE_TIMEOUT.
	IdleTimeout time.Duration
	// IOIdleTimeout bounds how long one read or write of a connection may
	// make no progress, streams included. Default 1m; --io-idle-timeout,
	// KREST_IO_IDLE_TIMEOUT.
	IOIdleTimeout time.Duration
	// EmbeddedAllowRemote lets the embedded broker listen on an address
	// other machines can reach without authentication (see
	// EmbeddedSASLMechanism), so that anyone who reaches it can read and
	// write every topic; without SASL or this, EmbeddedAddr must be a
	// loopback address. Default false; --embedded-allow-remote,
	// KREST_EMBEDDED_ALLOW_REMOTE.
	EmbeddedAllowRemote bool
	// MaxRequestPartitions is the most partitions one admin request may
	// create (a new topic) or add (a topic's new partition count). A topic
	// rarely needs more than a few hundred; the bound keeps one mistyped or
	// hostile request from creating a cluster's worth at once. Default
	// 4096; --max-request-partitions, KREST_MAX_REQUEST_PARTITIONS.
	MaxRequestPartitions int
	// MaxListItems is the most items one list answer holds (topics,
	// consumer groups, configs); a longer list comes in pages. Default
	// 10000; --max-list-items, KREST_MAX_LIST_ITEMS.
	MaxListItems int
	// MemoryLimit is the Go runtime's soft memory limit in bytes: past it,
	// the garbage collector runs more often (up to about half the CPU)
	// rather than let the heap grow. 0 picks one: 90% of the container's
	// memory limit (cgroup memory.max) if there is one, else 1 GiB or four
	// times MaxBufferedBytes, whichever is more.
	// Ignored when GOMEMLIMIT is set, which the runtime honours itself.
	// Default 0; --memory-limit, KREST_MEMORY_LIMIT (bytes, or with a
	// KiB, MiB, GiB or TiB suffix, as GOMEMLIMIT takes them).
	MemoryLimit int64
	// DLQFailurePolicy is what the consumer does with a record it could
	// neither process nor write to DLQTopic: "pause" stops fetching that
	// partition (the others go on) and commits nothing past the record;
	// "skip" counts the record and moves past it. Default "pause";
	// --dlq-failure-policy, KREST_DLQ_FAILURE_POLICY.
	DLQFailurePolicy string
	// DLQRetryTimeout bounds how long one dead letter is retried while
	// the error is a passing one (brokers unavailable, no answer in time)
	// before DLQFailurePolicy applies. The consumer processes nothing else
	// meanwhile. Default 30s; --dlq-retry-timeout, KREST_DLQ_RETRY_TIMEOUT.
	DLQRetryTimeout time.Duration
	// DLQPauseRetry is how long a partition paused by DLQFailurePolicy
	// "pause" waits before the record is tried again; 0 waits for a
	// rebalance that moves the partition or a restart. Default 1m;
	// --dlq-pause-retry, KREST_DLQ_PAUSE_RETRY.
	DLQPauseRetry time.Duration
	// CommitInterval is how often the consumer commits the offsets it
	// processed; it also commits before giving partitions up and when it
	// stops. Default 1s; --commit-interval, KREST_COMMIT_INTERVAL.
	CommitInterval time.Duration
	// LogContentBytes bounds the content of a "consumed message" line;
	// longer content is cut at a UTF-8 character boundary and the line
	// gets content_bytes, its full size. Default 256; --log-content-bytes,
	// KREST_LOG_CONTENT_BYTES.
	LogContentBytes int
	// LogFlushInterval is the longest an info or debug line waits in the
	// log buffer; warnings and errors are written at once, and the
	// consumer writes its lines out before committing them. Default
	// 100ms; --log-flush-interval, KREST_LOG_FLUSH_INTERVAL.
	LogFlushInterval time.Duration

	// Security of the connections to Kafka, and of the embedded broker:
	// see security.go, which registers their flags and checks them.

	// KafkaTLS connects to the brokers over TLS. Default false;
	// --kafka-tls, KREST_KAFKA_TLS.
	KafkaTLS bool
	// KafkaTLSCAFile is a PEM file of the CA certificates the brokers'
	// certificates are checked against. Default "" (the system's);
	// --kafka-tls-ca-file, KREST_KAFKA_TLS_CA_FILE.
	KafkaTLSCAFile string
	// KafkaTLSCertFile and KafkaTLSKeyFile are the PEM client certificate
	// and key krest presents (mutual TLS), read again when they change.
	// Default ""; --kafka-tls-cert-file, KREST_KAFKA_TLS_CERT_FILE;
	// --kafka-tls-key-file, KREST_KAFKA_TLS_KEY_FILE.
	KafkaTLSCertFile string
	KafkaTLSKeyFile  string
	// KafkaTLSServerName is the name the brokers' certificates must carry.
	// Default "" (each broker's host); --kafka-tls-server-name,
	// KREST_KAFKA_TLS_SERVER_NAME.
	KafkaTLSServerName string
	// KafkaTLSInsecureSkipVerify accepts any broker certificate, for
	// development only. Default false; --kafka-tls-insecure-skip-verify,
	// KREST_KAFKA_TLS_INSECURE_SKIP_VERIFY.
	KafkaTLSInsecureSkipVerify bool
	// KafkaSASLMechanism is PLAIN, SCRAM-SHA-256, SCRAM-SHA-512,
	// OAUTHBEARER or AWS_MSK_IAM. Default "" (no SASL);
	// --kafka-sasl-mechanism, KREST_KAFKA_SASL_MECHANISM.
	KafkaSASLMechanism string
	// KafkaSASLUser is the PLAIN or SCRAM user. Default "";
	// --kafka-sasl-user, KREST_KAFKA_SASL_USER.
	KafkaSASLUser string
	// KafkaSASLPassword is its password. Default "";
	// --kafka-sasl-password, KREST_KAFKA_SASL_PASSWORD.
	KafkaSASLPassword string
	// KafkaSASLPasswordFile holds the password instead, read at every
	// login. Default ""; --kafka-sasl-password-file,
	// KREST_KAFKA_SASL_PASSWORD_FILE.
	KafkaSASLPasswordFile string
	// KafkaOAuthTokenFile holds the OAUTHBEARER token, read at every
	// login. Default ""; --kafka-oauth-token-file,
	// KREST_KAFKA_OAUTH_TOKEN_FILE.
	KafkaOAuthTokenFile string
	// KafkaOAuthTokenURL is the OAuth 2.0 token endpoint of the client
	// credentials grant, instead of a token file. Default "";
	// --kafka-oauth-token-url, KREST_KAFKA_OAUTH_TOKEN_URL.
	KafkaOAuthTokenURL string
	// KafkaOAuthClientID is the grant's client ID. Default "";
	// --kafka-oauth-client-id, KREST_KAFKA_OAUTH_CLIENT_ID.
	KafkaOAuthClientID string
	// KafkaOAuthClientSecretFile holds its client secret, read at every
	// grant. Default ""; --kafka-oauth-client-secret-file,
	// KREST_KAFKA_OAUTH_CLIENT_SECRET_FILE.
	KafkaOAuthClientSecretFile string
	// KafkaOAuthScope is the scope the grant asks for, scopes separated
	// by spaces or commas. Default ""; --kafka-oauth-scope,
	// KREST_KAFKA_OAUTH_SCOPE.
	KafkaOAuthScope string
	// KafkaOAuthExtensions are SASL extensions sent with the token,
	// key=value pairs separated by commas (Confluent Cloud:
	// logicalCluster=lkc-…,identityPoolId=pool-…). Default "";
	// --kafka-oauth-extensions, KREST_KAFKA_OAUTH_EXTENSIONS.
	KafkaOAuthExtensions string
	// AWSAccessKeyID, AWSSecretAccessKey and AWSSessionToken are the
	// credentials of AWS_MSK_IAM, from the environment variables
	// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN; no
	// flags.
	AWSAccessKeyID     string
	AWSSecretAccessKey string
	AWSSessionToken    string
	// EmbeddedAdvertisedAddr is the host:port the embedded broker tells
	// clients to connect to; a port of 0 is the one it listens on.
	// Default "" (its listen address); --embedded-advertised-addr,
	// KREST_EMBEDDED_ADVERTISED_ADDR.
	EmbeddedAdvertisedAddr string
	// EmbeddedSASLMechanism makes the embedded broker require SASL: PLAIN,
	// SCRAM-SHA-256 or SCRAM-SHA-512. Default "" (none);
	// --embedded-sasl-mechanism, KREST_EMBEDDED_SASL_MECHANISM.
	EmbeddedSASLMechanism string
	// EmbeddedSASLUser and EmbeddedSASLPassword are its one user, a
	// superuser, which krest's own clients log in as. Default "";
	// --embedded-sasl-user, KREST_EMBEDDED_SASL_USER;
	// --embedded-sasl-password, KREST_EMBEDDED_SASL_PASSWORD.
	EmbeddedSASLUser     string
	EmbeddedSASLPassword string
	// EmbeddedTLSCert and EmbeddedTLSKey make the embedded broker serve
	// TLS with this PEM certificate (chain) and key. Default "";
	// --embedded-tls-cert, KREST_EMBEDDED_TLS_CERT; --embedded-tls-key,
	// KREST_EMBEDDED_TLS_KEY.
	EmbeddedTLSCert string
	EmbeddedTLSKey  string

	// Authentication and authorization of HTTP callers: see auth.go, which
	// registers their flags and checks them.

	// Auth is "none", or the ways callers log in: a comma list of basic,
	// bearer and mtls. Default "none"; --auth, KREST_AUTH.
	Auth string
	// AuthBasicUsersFile is the users file of Basic logins, user:bcrypt
	// lines as htpasswd -B writes them, reloaded when it changes. Default
	// ""; --auth-basic-users-file, KREST_AUTH_BASIC_USERS_FILE.
	AuthBasicUsersFile string
	// AuthJWTIssuer is the OpenID Connect issuer of bearer tokens, whose
	// keys discovery finds; or AuthJWTJWKSURL names the key set itself.
	// Default ""; --auth-jwt-issuer, KREST_AUTH_JWT_ISSUER;
	// --auth-jwt-jwks-url, KREST_AUTH_JWT_JWKS_URL.
	AuthJWTIssuer, AuthJWTJWKSURL string
	// AuthJWTAudience is the audience a token must name. Default "";
	// --auth-jwt-audience, KREST_AUTH_JWT_AUDIENCE.
	AuthJWTAudience string
	// AuthJWTPrincipalClaim names the claim whose value is the principal
	// (User:<value>). Default "sub"; --auth-jwt-principal-claim,
	// KREST_AUTH_JWT_PRINCIPAL_CLAIM.
	AuthJWTPrincipalClaim string
	// AuthJWTGroupsClaim names the claim listing the principal's groups
	// (Group:<value>). Default "" (none); --auth-jwt-groups-claim,
	// KREST_AUTH_JWT_GROUPS_CLAIM.
	AuthJWTGroupsClaim string
	// AuthJWTAlgorithms are the signing algorithms a token may use.
	// Default RS, PS and ES families and EdDSA; --auth-jwt-algorithms,
	// KREST_AUTH_JWT_ALGORITHMS.
	AuthJWTAlgorithms string
	// AuthJWTClockSkew is how far apart krest's clock and the issuer's may
	// be. Default 1m; --auth-jwt-clock-skew, KREST_AUTH_JWT_CLOCK_SKEW.
	AuthJWTClockSkew time.Duration
	// AuthMTLSPrincipal is the part of a client certificate that names the
	// principal: cn, dn, dns, email or uri. Default "cn";
	// --auth-mtls-principal, KREST_AUTH_MTLS_PRINCIPAL.
	AuthMTLSPrincipal string
	// AuthMTLSRules map the certificate's distinguished name to the
	// principal as Kafka's ssl.principal.mapping.rules do (then the DN is
	// their input). Default ""; --auth-mtls-rules, KREST_AUTH_MTLS_RULES.
	AuthMTLSRules string
	// AuthzFile is the authorization policy (YAML: superusers and rules),
	// reloaded when it changes; set, whatever it does not allow is denied.
	// Default "" (every caller may do everything); --authz-file,
	// KREST_AUTHZ_FILE.
	AuthzFile string
	// RateLimit bounds each principal's requests per second, with bursts
	// of RateBurst. Default 0 (none); --rate-limit, KREST_RATE_LIMIT;
	// --rate-burst, KREST_RATE_BURST (default: the rate, rounded up).
	RateLimit float64
	RateBurst int
	// AuthOpenMetrics serves /metrics and the OpenAPI document without
	// credentials on the API listener. Default false;
	// --auth-open-metrics, KREST_AUTH_OPEN_METRICS.
	AuthOpenMetrics bool
	// AllowedOrigins are the web origins whose browsers may make
	// state-changing requests, a comma list. Default "";
	// --allowed-origins, KREST_ALLOWED_ORIGINS.
	AllowedOrigins string
	// AuthAllowPlainHTTP lets Basic or bearer credentials cross plain HTTP
	// on an address other machines reach, where anyone on the way reads
	// them. Default false; --auth-allow-plain-http,
	// KREST_AUTH_ALLOW_PLAIN_HTTP.
	AuthAllowPlainHTTP bool
	// RequireAuth refuses to start without authentication on an address
	// other machines reach (otherwise krest warns). Default false;
	// --require-auth, KREST_REQUIRE_AUTH.
	RequireAuth bool
	// Who krest is at Kafka for each request, and who decides what a
	// caller may do: see identity.go, which registers their flags and
	// checks them.

	// KafkaIdentity is whose login each request acts through at Kafka:
	// "service" (krest's own, for everything), "passthrough" (the
	// caller's: its Basic credentials as a SASL login, its bearer token
	// as OAUTHBEARER) or "mapped" (the login KafkaIdentityMapFile gives
	// the caller's principal). The background consumer group always runs
	// as krest. Default "service"; --kafka-identity, KREST_KAFKA_IDENTITY.
	KafkaIdentity string
	// KafkaIdentityMechanism is the SASL mechanism a caller's Basic
	// credentials log in with under passthrough: SCRAM-SHA-512,
	// SCRAM-SHA-256 or PLAIN. Default "SCRAM-SHA-512";
	// --kafka-identity-mechanism, KREST_KAFKA_IDENTITY_MECHANISM.
	KafkaIdentityMechanism string
	// KafkaIdentityMapFile is a YAML file mapping principals (User:x,
	// Group:y) to Kafka logins, reloaded when it changes: required by
	// mapped; under passthrough, the logins of callers that bring no
	// credentials to pass (client certificates). Default "";
	// --kafka-identity-map-file, KREST_KAFKA_IDENTITY_MAP_FILE.
	KafkaIdentityMapFile string
	// KafkaIdentityPoolSize bounds the Kafka clients kept for callers'
	// logins, one per principal and credentials; past it, the least
	// recently used is closed. Default 100; --kafka-identity-pool-size,
	// KREST_KAFKA_IDENTITY_POOL_SIZE.
	KafkaIdentityPoolSize int
	// KafkaIdentityIdleTimeout closes a caller's client unused this long.
	// Default 5m; --kafka-identity-idle-timeout,
	// KREST_KAFKA_IDENTITY_IDLE_TIMEOUT.
	KafkaIdentityIdleTimeout time.Duration
	// KafkaIdentityMaxBufferedRecords and KafkaIdentityMaxBufferedBytes
	// bound the records waiting in each caller's producer; past them,
	// that caller's produce answers 503. The pool holds at most
	// KafkaIdentityPoolSize × KafkaIdentityMaxBufferedBytes. Default 4096
	// and 4194304 (4 MiB); --kafka-identity-max-buffered-records,
	// KREST_KAFKA_IDENTITY_MAX_BUFFERED_RECORDS;
	// --kafka-identity-max-buffered-bytes,
	// KREST_KAFKA_IDENTITY_MAX_BUFFERED_BYTES.
	KafkaIdentityMaxBufferedRecords int
	KafkaIdentityMaxBufferedBytes   int
	// AuthzMode is who decides what a caller may do: "local" (the rules
	// of the authorization file), "kafka" (no local rules: the brokers'
	// ACLs, through the caller's own identity) or "both" (the local rules,
	// then the brokers'). kafka and both need KafkaIdentity passthrough
	// or mapped. Default "local"; --authz-mode, KREST_AUTHZ_MODE.
	AuthzMode string
	// ConsumerInstances are the API v2 consumer instances' settings
	// (consumers.go).
	ConsumerInstances
	// How nodes reach each other behind a load balancer: see peers.go.
	Peers
	// The records:stream route's settings (sse.go).
	ServerSentEvents
	// The work queues' settings (queues.go).
	Queues
}

// ErrHelp is returned by Load when the arguments ask for help; the usage has
// been written to the output.
var ErrHelp = flag.ErrHelp

// Defaults returns the configuration used when nothing is set.
func Defaults() Config {
	return Config{
		HTTPAddr:           ":8080",
		EmbeddedAddr:       "127.0.0.1:9092",
		DataDir:            "./krest-data",
		Topic:              "messages",
		Group:              "message-consumer-group",
		Partitions:         3,
		ReplicationFactor:  -1,
		CreateTopics:       true,
		ClientID:           "krest",
		ProduceTimeout:     10 * time.Second,
		MaxBodyBytes:       1 << 20,
		BatchMaxEntries:    1000,
		MaxBufferedRecords: 100_000,
		MaxBufferedBytes:   256 << 20,
		Compression:        "snappy",
		MaxInFlight:        1024,
		Consumer:           true,
		SessionTimeout:     45 * time.Second,
		ShutdownTimeout:    30 * time.Second,
		LogFormat:          "text",
		LogLevel:           "info",
		APIV2:              true,
		APIV3:              true,

		ShutdownDelay:         5 * time.Second,
		TLSClientAuth:         "none",
		Auth:                  "none",
		AuthMTLSPrincipal:     "cn",
		AuthJWTPrincipalClaim: "sub",
		AuthJWTClockSkew:      time.Minute,
		TLSMinVersion:         "1.2",
		MaxHeaderBytes:        16 << 10,
		MaxStreams:            256,
		MaxConns:              16384,
		ReadTimeout:           30 * time.Second,
		IdleTimeout:           2 * time.Minute,
		IOIdleTimeout:         time.Minute,

		MaxRequestPartitions: 4096,
		MaxListItems:         10_000,
		DLQFailurePolicy:     "pause",
		DLQRetryTimeout:      30 * time.Second,
		DLQPauseRetry:        time.Minute,
		CommitInterval:       time.Second,
		LogContentBytes:      256,
		LogFlushInterval:     100 * time.Millisecond,

		KafkaIdentity:                   identityService,
		KafkaIdentityMechanism:          mechScram512,
		KafkaIdentityPoolSize:           100,
		KafkaIdentityIdleTimeout:        5 * time.Minute,
		KafkaIdentityMaxBufferedRecords: 4096,
		KafkaIdentityMaxBufferedBytes:   4 << 20,
		AuthzMode:                       authzLocal,
		ConsumerInstances:               consumerInstanceDefaults(),
		Peers:                           defaultPeers(),
		ServerSentEvents:                sseDefaults(),
		Queues:                          queueDefaults(),
	}
}

// Load builds the configuration from defaults, then the environment read
// through getenv, then the flags in args, and validates it. For -h it writes
// the flags to output, under name, and returns ErrHelp.
func Load(name string, args []string, getenv func(string) string, output io.Writer) (Config, error) {
	c := Defaults()
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	// Errors come back as one line; only -h prints the flags.
	fs.SetOutput(io.Discard)
	brokers := ""
	fs.StringVar(&c.HTTPAddr, "http-addr", c.HTTPAddr, "HTTP listen address (KREST_HTTP_ADDR)")
	fs.StringVar(&brokers, "brokers", "", "comma-separated Kafka seed brokers; empty starts the embedded broker (KREST_BROKERS)")
	fs.StringVar(&c.EmbeddedAddr, "embedded-addr", c.EmbeddedAddr, "embedded broker listen address (KREST_EMBEDDED_ADDR)")
	fs.StringVar(&c.DataDir, "data-dir", c.DataDir, "embedded broker storage directory (KREST_DATA_DIR)")
	fs.BoolVar(&c.InMemory, "in-memory", c.InMemory, "run the embedded broker without disk (KREST_IN_MEMORY)")
	fs.StringVar(&c.Topic, "topic", c.Topic, "topic of POST /api/messages and the consumer (KREST_TOPIC)")
	fs.StringVar(&c.Group, "group", c.Group, "consumer group (KREST_GROUP)")
	fs.StringVar(&c.DLQTopic, "dlq-topic", "", "dead-letter topic; default <topic>.dlq (KREST_DLQ_TOPIC)")
	fs.IntVar(&c.Partitions, "partitions", c.Partitions, "partitions of topics krest creates (KREST_PARTITIONS)")
	fs.IntVar(&c.ReplicationFactor, "replication-factor", c.ReplicationFactor, "replication factor of topics krest creates, -1 for the broker default (KREST_REPLICATION_FACTOR)")
	fs.BoolVar(&c.CreateTopics, "create-topics", c.CreateTopics, "create the topic and dead-letter topic when missing (KREST_CREATE_TOPICS)")
	fs.BoolVar(&c.AutoCreateTopics, "auto-create-topics", c.AutoCreateTopics, "let produce requests create missing topics (KREST_AUTO_CREATE_TOPICS)")
	fs.StringVar(&c.ClientID, "client-id", c.ClientID, "Kafka client id (KREST_CLIENT_ID)")
	fs.DurationVar(&c.ProduceTimeout, "produce-timeout", c.ProduceTimeout, "bound on a produce request (KREST_PRODUCE_TIMEOUT)")
	fs.Int64Var(&c.MaxBodyBytes, "max-body-bytes", c.MaxBodyBytes, "request body size limit (KREST_MAX_BODY_BYTES)")
	fs.IntVar(&c.BatchMaxEntries, "batch-max-entries", c.BatchMaxEntries, "records allowed in one multi-record produce request: a records:batch request, a v2 produce (KREST_BATCH_MAX_ENTRIES)")
	fs.IntVar(&c.MaxBufferedRecords, "max-buffered-records", c.MaxBufferedRecords, "records waiting in the producer before produce answers 503 (KREST_MAX_BUFFERED_RECORDS)")
	fs.DurationVar(&c.Linger, "linger", c.Linger, "how long the producer waits to fill a batch (KREST_LINGER)")
	fs.StringVar(&c.Compression, "compression", c.Compression, "codec of produced batches: "+strings.Join(Compressions, ", ")+" (KREST_COMPRESSION)")
	fs.IntVar(&c.MaxBufferedBytes, "max-buffered-bytes", c.MaxBufferedBytes, "bytes waiting in the producer before produce answers 503 (KREST_MAX_BUFFERED_BYTES)")
	fs.IntVar(&c.MaxInFlight, "max-in-flight", c.MaxInFlight, "API requests served at once before answering 429 (KREST_MAX_IN_FLIGHT)")
	fs.BoolVar(&c.Consumer, "consumer", c.Consumer, "run the background consumer group (KREST_CONSUMER)")
	fs.DurationVar(&c.SessionTimeout, "session-timeout", c.SessionTimeout, "consumer group session timeout (KREST_SESSION_TIMEOUT)")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", c.ShutdownTimeout, "bound on a graceful shutdown (KREST_SHUTDOWN_TIMEOUT)")
	fs.StringVar(&c.MgmtAddr, "mgmt-addr", c.MgmtAddr, "management listener for /healthz, /readyz, /metrics and /debug/pprof/, apart from the API, e.g. 127.0.0.1:9090 (KREST_MGMT_ADDR)")
	fs.StringVar(&c.TLSCert, "tls-cert", c.TLSCert, "API listener's PEM certificate; set with --tls-key, the API is HTTPS (KREST_TLS_CERT)")
	fs.StringVar(&c.TLSKey, "tls-key", c.TLSKey, "API listener's PEM private key (KREST_TLS_KEY)")
	fs.StringVar(&c.TLSClientCA, "tls-client-ca", c.TLSClientCA, "PEM authorities client certificates must chain to (KREST_TLS_CLIENT_CA)")
	fs.StringVar(&c.TLSClientAuth, "tls-client-auth", c.TLSClientAuth, "client certificates: none, request or require (KREST_TLS_CLIENT_AUTH)")
	fs.StringVar(&c.TLSMinVersion, "tls-min-version", c.TLSMinVersion, "lowest TLS version of the API: 1.2 or 1.3 (KREST_TLS_MIN_VERSION)")
	fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, "log format: text or json (KREST_LOG_FORMAT)")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "log level: debug, info, warn or error (KREST_LOG_LEVEL)")
	fs.BoolVar(&c.APIV2, "api-v2", c.APIV2, "serve Confluent REST Proxy API v2 at the root (KREST_API_V2)")
	fs.BoolVar(&c.APIV3, "api-v3", c.APIV3, "serve Confluent REST Proxy API v3 under /v3 (KREST_API_V3)")
	fs.StringVar(&c.AdvertisedURL, "advertised-url", c.AdvertisedURL, "public base URL of links in answers, e.g. https://kafka-rest.example.com (KREST_ADVERTISED_URL)")
	fs.DurationVar(&c.ShutdownDelay, "shutdown-delay", c.ShutdownDelay, "how long readiness fails before the listener closes at shutdown (KREST_SHUTDOWN_DELAY)")
	fs.IntVar(&c.MaxHeaderBytes, "max-header-bytes", c.MaxHeaderBytes, "request line and headers size limit (KREST_MAX_HEADER_BYTES)")
	fs.IntVar(&c.MaxStreams, "max-streams", c.MaxStreams, "streamed records requests open at once (KREST_MAX_STREAMS)")
	fs.IntVar(&c.MaxConns, "max-conns", c.MaxConns, "open HTTP connections (KREST_MAX_CONNS)")
	fs.IntVar(&c.MaxConnsPerAddr, "max-conns-per-addr", c.MaxConnsPerAddr, "open HTTP connections from one client address, 0 for no bound (KREST_MAX_CONNS_PER_ADDR)")
	fs.DurationVar(&c.ReadTimeout, "read-timeout", c.ReadTimeout, "bound on reading a request from its first byte (KREST_READ_TIMEOUT)")
	fs.DurationVar(&c.IdleTimeout, "idle-timeout", c.IdleTimeout, "bound on the wait for the next request of a keep-alive connection (KREST_IDLE_TIMEOUT)")
	fs.DurationVar(&c.IOIdleTimeout, "io-idle-timeout", c.IOIdleTimeout, "bound on a read or write of a connection that makes no progress (KREST_IO_IDLE_TIMEOUT)")
	fs.BoolVar(&c.EmbeddedAllowRemote, "embedded-allow-remote", c.EmbeddedAllowRemote, "let the embedded broker listen beyond loopback without SASL, open to anyone (KREST_EMBEDDED_ALLOW_REMOTE)")
	fs.IntVar(&c.MaxRequestPartitions, "max-request-partitions", c.MaxRequestPartitions, "partitions one admin request may create or add (KREST_MAX_REQUEST_PARTITIONS)")
	fs.IntVar(&c.MaxListItems, "max-list-items", c.MaxListItems, "items one list answer holds; longer lists come in pages (KREST_MAX_LIST_ITEMS)")
	fs.Var(byteSize{&c.MemoryLimit}, "memory-limit", "Go soft memory limit, e.g. 768MiB; 0 picks 90% of the container's limit, else 1GiB or 4x max-buffered-bytes; GOMEMLIMIT wins (KREST_MEMORY_LIMIT)")
	fs.StringVar(&c.DLQFailurePolicy, "dlq-failure-policy", c.DLQFailurePolicy, "a record that cannot be dead-lettered: pause its partition, or skip it (KREST_DLQ_FAILURE_POLICY)")
	fs.DurationVar(&c.DLQRetryTimeout, "dlq-retry-timeout", c.DLQRetryTimeout, "how long a dead letter is retried for passing errors (KREST_DLQ_RETRY_TIMEOUT)")
	fs.DurationVar(&c.DLQPauseRetry, "dlq-pause-retry", c.DLQPauseRetry, "how long a paused partition waits to try its record again; 0 until a rebalance or restart (KREST_DLQ_PAUSE_RETRY)")
	fs.DurationVar(&c.CommitInterval, "commit-interval", c.CommitInterval, "how often the consumer commits processed offsets (KREST_COMMIT_INTERVAL)")
	fs.IntVar(&c.LogContentBytes, "log-content-bytes", c.LogContentBytes, "content bytes shown in a consumed message line (KREST_LOG_CONTENT_BYTES)")
	fs.DurationVar(&c.LogFlushInterval, "log-flush-interval", c.LogFlushInterval, "longest an info line waits in the log buffer (KREST_LOG_FLUSH_INTERVAL)")
	securityFlags(fs, &c)
	authFlags(fs, &c)
	identityFlags(fs, &c)
	consumerFlags(fs, &c)
	peerFlags(fs, &c)
	sseFlags(fs, &c)
	queueFlags(fs, &c)

	// The environment goes in as the flags' values before parsing, so that
	// explicit flags win.
	var envErrs []error
	fs.VisitAll(func(f *flag.Flag) {
		env := "KREST_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v := getenv(env); v != "" {
			if err := f.Value.Set(v); err != nil {
				envErrs = append(envErrs, fmt.Errorf("%s=%q: %v", env, v, err))
			}
		}
	})
	if len(envErrs) > 0 {
		return c, errors.Join(envErrs...)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(output)
			fmt.Fprintf(output, "usage of %s:\n", name)
			fs.PrintDefaults()
		}
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	c.Brokers = splitList(brokers)
	c.loadSecurity(getenv)
	c.loadIdentity()
	if err := c.loadPeers(); err != nil {
		return c, err
	}
	if c.DLQTopic == "" {
		c.DLQTopic = c.Topic + ".dlq"
	}
	return c, c.Validate()
}

// Compressions are the codecs Compression may name.
var Compressions = []string{"none", "gzip", "snappy", "lz4", "zstd"}

// Bounds Validate holds settings to.
const (
	// maxLinger bounds Linger: a producer that waits longer than this for
	// more records adds latency no batch is worth.
	maxLinger = time.Second
	// minSessionTimeout and maxSessionTimeout are Kafka's defaults for
	// group.min.session.timeout.ms and group.max.session.timeout.ms: a
	// broker refuses a member whose session timeout is outside them.
	minSessionTimeout = 6 * time.Second
	maxSessionTimeout = 30 * time.Minute
)

// Validate reports every setting that cannot work, each as a sentence on
// a line of its own (errors.Join), or nil. It checks each setting's range
// and the settings that must agree with one another.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if err := validateHostPort(c.HTTPAddr); err != nil {
		bad("http address %q: %v", c.HTTPAddr, err)
	}
	if c.MgmtAddr != "" {
		if err := validateHostPort(c.MgmtAddr); err != nil {
			bad("management address %q: %v", c.MgmtAddr, err)
		} else if sameListener(c.MgmtAddr, c.HTTPAddr) {
			bad("management address %q must differ from the http address %q", c.MgmtAddr, c.HTTPAddr)
		}
	}
	switch {
	case (c.TLSCert == "") != (c.TLSKey == ""):
		bad("TLS needs both a certificate and a key (--tls-cert, --tls-key)")
	case c.TLSCert == "" && (c.TLSClientCA != "" || c.TLSClientAuth != "none"):
		bad("client certificates need TLS: set --tls-cert and --tls-key")
	}
	switch c.TLSClientAuth {
	case "none":
	case "request", "require":
		if c.TLSClientCA == "" {
			bad("client auth %s needs a client CA file (--tls-client-ca)", c.TLSClientAuth)
		}
	default:
		bad("client auth must be none, request or require, not %q", c.TLSClientAuth)
	}
	if c.TLSMinVersion != "1.2" && c.TLSMinVersion != "1.3" {
		bad("TLS min version must be 1.2 or 1.3, not %q", c.TLSMinVersion)
	}
	for _, b := range c.Brokers {
		if err := validateHostPort(b); err != nil {
			bad("broker %q: %v", b, err)
		}
	}
	// The embedded broker's settings are checked whatever --brokers says:
	// "krest broker" runs it regardless.
	if err := validateHostPort(c.EmbeddedAddr); err != nil {
		bad("embedded address %q: %v", c.EmbeddedAddr, err)
	} else if err := c.embeddedExposure(); err != nil {
		bad("%v", err)
	} else if c.Embedded() && sameListener(c.EmbeddedAddr, c.HTTPAddr) {
		bad("embedded address %q must differ from the http address %q", c.EmbeddedAddr, c.HTTPAddr)
	}
	if !c.InMemory && c.DataDir == "" {
		bad("data directory must not be empty unless the broker runs in memory")
	}

	topicErr := naming.Topic(c.Topic)
	if topicErr != nil {
		bad("topic: %v", topicErr)
	}
	if err := naming.Topic(c.DLQTopic); err != nil {
		if topicErr == nil || c.DLQTopic != c.Topic+".dlq" { // a derived name would repeat the topic's error
			bad("dead-letter topic: %v", err)
		}
	} else if c.DLQTopic == c.Topic {
		bad("dead-letter topic must differ from the topic")
	}
	if err := naming.Group(c.Group); err != nil {
		bad("consumer group: %v", err)
	}

	switch {
	case c.Partitions < 1 || c.Partitions > math.MaxInt32:
		bad("partitions must be from 1 to %d, not %d", math.MaxInt32, c.Partitions)
	case c.MaxRequestPartitions >= 1 && c.Partitions > c.MaxRequestPartitions:
		bad("partitions (%d) must not exceed max request partitions (%d)", c.Partitions, c.MaxRequestPartitions)
	}
	switch {
	case c.ReplicationFactor == 0 || c.ReplicationFactor < -1 || c.ReplicationFactor > math.MaxInt16:
		bad("replication factor must be -1 or from 1 to %d, not %d", math.MaxInt16, c.ReplicationFactor)
	case c.Embedded() && c.ReplicationFactor > 1:
		bad("replication factor %d needs %d brokers, and the embedded broker is one: set --brokers, or a replication factor of 1 or -1", c.ReplicationFactor, c.ReplicationFactor)
	}
	if c.MaxRequestPartitions < 1 || c.MaxRequestPartitions > math.MaxInt32 {
		bad("max request partitions must be from 1 to %d, not %d", math.MaxInt32, c.MaxRequestPartitions)
	}
	if c.MaxListItems < 1 {
		bad("max list items must be positive, not %d", c.MaxListItems)
	}

	if c.ProduceTimeout <= 0 {
		bad("produce timeout must be positive, not %s", c.ProduceTimeout)
	}
	switch {
	case c.Linger < 0 || c.Linger > maxLinger:
		bad("linger must be from 0 to %s, not %s", maxLinger, c.Linger)
	case c.ProduceTimeout > 0 && c.Linger >= c.ProduceTimeout:
		bad("linger (%s) must be shorter than the produce timeout (%s)", c.Linger, c.ProduceTimeout)
	}
	if !slices.Contains(Compressions, c.Compression) {
		bad("compression must be one of %s, not %q", strings.Join(Compressions, ", "), c.Compression)
	}
	for _, n := range []struct {
		name string
		n    int64
	}{
		{"max body bytes", int64(c.MaxBodyBytes)}, {"batch max entries", int64(c.BatchMaxEntries)},
		{"max buffered records", int64(c.MaxBufferedRecords)}, {"max buffered bytes", int64(c.MaxBufferedBytes)},
		{"max in flight", int64(c.MaxInFlight)}, {"max streams", int64(c.MaxStreams)}, {"max conns", int64(c.MaxConns)},
	} {
		if n.n < 1 {
			bad("%s must be positive, not %d", n.name, n.n)
		}
	}
	if c.SessionTimeout < minSessionTimeout || c.SessionTimeout > maxSessionTimeout {
		bad("session timeout must be from %s to %s (Kafka's default group.min.session.timeout.ms and group.max.session.timeout.ms), not %s",
			minSessionTimeout, maxSessionTimeout, c.SessionTimeout)
	}
	if c.ShutdownTimeout <= 0 {
		bad("shutdown timeout must be positive, not %s", c.ShutdownTimeout)
	}
	if c.ShutdownDelay < 0 {
		bad("shutdown delay must not be negative, not %s", c.ShutdownDelay)
	}
	if c.MaxHeaderBytes < 1024 {
		bad("max header bytes must be at least 1024, not %d", c.MaxHeaderBytes)
	}
	if c.MaxConnsPerAddr < 0 {
		bad("max conns per address must not be negative, not %d", c.MaxConnsPerAddr)
	}
	for _, d := range []struct {
		name string
		d    time.Duration
	}{{"read timeout", c.ReadTimeout}, {"idle timeout", c.IdleTimeout}, {"I/O idle timeout", c.IOIdleTimeout}} {
		if d.d <= 0 {
			bad("%s must be positive, not %s", d.name, d.d)
		}
	}
	if c.AdvertisedURL != "" {
		u, err := url.Parse(c.AdvertisedURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			bad("advertised URL %q must be http:// or https:// and a host, with an optional port and path", c.AdvertisedURL)
		}
	}
	switch c.DLQFailurePolicy {
	case "pause", "skip":
	default:
		bad("dead-letter failure policy must be pause or skip, not %q", c.DLQFailurePolicy)
	}
	if c.DLQRetryTimeout <= 0 {
		bad("dead-letter retry timeout must be positive, not %s", c.DLQRetryTimeout)
	}
	if c.DLQPauseRetry < 0 {
		bad("dead-letter pause retry must not be negative, not %s", c.DLQPauseRetry)
	}
	if c.CommitInterval < 100*time.Millisecond {
		bad("commit interval must be at least 100ms, not %s", c.CommitInterval)
	}
	if c.LogContentBytes < 1 {
		bad("log content bytes must be positive, not %d", c.LogContentBytes)
	}
	if c.LogFlushInterval <= 0 {
		bad("log flush interval must be positive, not %s", c.LogFlushInterval)
	}
	if c.MemoryLimit < 0 {
		bad("memory limit must not be negative, not %d", c.MemoryLimit)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		bad("log format must be text or json, not %q", c.LogFormat)
	}
	if _, err := ParseLevel(c.LogLevel); err != nil {
		errs = append(errs, err)
	}
	c.validateSecurity(bad)
	c.validateAuth(bad)
	c.validateIdentity(bad)
	c.validateConsumers(bad)
	c.validatePeers(bad)
	c.validateSSE(bad)
	c.validateQueues(bad)
	return errors.Join(errs...)
}

// embeddedExposure says why the embedded broker may not listen on
// EmbeddedAddr, or returns nil. Beyond loopback, it must authenticate its
// clients (EmbeddedSASLMechanism), or be allowed explicitly to serve anyone
// (EmbeddedAllowRemote). Add any other condition that makes a remote
// listener safe here.
func (c Config) embeddedExposure() error {
	host, _, _ := net.SplitHostPort(c.EmbeddedAddr) // validated by the caller
	if loopback(host) || c.EmbeddedSASLMechanism != "" || c.EmbeddedAllowRemote {
		return nil
	}
	return fmt.Errorf("embedded address %q is not a loopback address, and the embedded broker has no authentication, "+
		"so anyone who reaches it could read and write every topic: set KREST_EMBEDDED_SASL_MECHANISM, "+
		"KREST_EMBEDDED_SASL_USER and KREST_EMBEDDED_SASL_PASSWORD (and KREST_EMBEDDED_TLS_CERT and KREST_EMBEDDED_TLS_KEY), "+
		"or KREST_EMBEDDED_ALLOW_REMOTE=true (--embedded-allow-remote) to let anyone in", c.EmbeddedAddr)
}

// loopback reports whether host names only this machine: "localhost" or a
// loopback IP. An empty host (every interface) and any other name do not.
func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// sameListener reports whether two valid listen addresses would take the
// same port: the same port number, other than 0, on the same host or where
// either host is every interface.
func sameListener(a, b string) bool {
	ha, pa, _ := net.SplitHostPort(a)
	hb, pb, _ := net.SplitHostPort(b)
	if pa != pb || pa == "0" {
		return false
	}
	everywhere := func(h string) bool { return h == "" || h == "0.0.0.0" || h == "::" }
	return ha == hb || everywhere(ha) || everywhere(hb)
}

// Embedded reports whether krest runs its own broker.
func (c Config) Embedded() bool { return len(c.Brokers) == 0 }

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// validateHostPort checks that addr is host:port with a numeric port, as
// net.Listen and Kafka's seed brokers take it.
func validateHostPort(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return errors.New(strings.TrimPrefix(err.Error(), "address "+addr+": "))
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("port %q is not a number from 0 to 65535", port)
	}
	return nil
}

// ParseLevel turns a level name (debug, info, warn, error) into a slog.Level.
func ParseLevel(name string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(name)); err != nil {
		return 0, fmt.Errorf("log level must be debug, info, warn or error, not %q", name)
	}
	return l, nil
}

// byteSize is a flag.Value for a size in bytes, written as GOMEMLIMIT takes
// it: a whole number, optionally followed by B, KiB, MiB, GiB or TiB.
type byteSize struct{ p *int64 }

func (b byteSize) String() string {
	if b.p == nil {
		return "0"
	}
	return strconv.FormatInt(*b.p, 10)
}

func (b byteSize) Set(s string) error {
	n, err := parseByteSize(s)
	if err != nil {
		return err
	}
	*b.p = n
	return nil
}

// parseByteSize parses a size as byteSize documents it.
func parseByteSize(s string) (int64, error) {
	digits := strings.TrimRightFunc(s, func(r rune) bool { return r < '0' || r > '9' })
	unit := s[len(digits):]
	shift, ok := map[string]uint{"": 0, "B": 0, "KiB": 10, "MiB": 20, "GiB": 30, "TiB": 40}[unit]
	n, err := strconv.ParseInt(digits, 10, 64)
	if !ok || err != nil || n < 0 || n > math.MaxInt64>>shift {
		return 0, fmt.Errorf("%q is not a size: want bytes, or a whole number of KiB, MiB, GiB or TiB, such as 768MiB", s)
	}
	return n << shift, nil
}
