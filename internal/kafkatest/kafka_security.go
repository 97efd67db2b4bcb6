package kafkatest

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// The secured real-Kafka cluster (KafkaOptions.Security): PEM key and trust
// stores with a PKCS#8 key and an IP SAN of 127.0.0.1 (NewCerts); SCRAM
// users created when the nodes are formatted (kafka-storage format
// --add-scram); and for SecurityOAuth a listener of its own that checks
// OAUTHBEARER JWTs against a JWKS file the test writes.

// The users of a secured cluster: the nodes' own superuser, and the one
// clients log in as (SCRAM, or the OAUTHBEARER token's subject).
const (
	kafkaAdminUser  = "admin"
	kafkaClientUser = "krest"
	kafkaTokenTTL   = 24 * time.Hour
)

// secure prepares the certificates, passwords and tokens of kind in the
// cluster's directory.
func (k *Kafka) secure(t testing.TB, kind string) error {
	t.Helper()
	switch kind {
	case "", SecurityPlaintext:
		k.security = SecurityPlaintext
		return nil
	case SecuritySCRAM, SecurityOAuth:
	default:
		return fmt.Errorf("kafkatest: KafkaOptions.Security %q: want plaintext, scram or oauth", kind)
	}
	k.security = kind
	certs := NewCerts(t)
	k.adminPW = randomPassword(t)
	// A PEM key store is one file: the key, then the certificate chain.
	key, err := os.ReadFile(certs.ServerKeyFile)
	if err != nil {
		return err
	}
	chain, err := os.ReadFile(certs.ServerChainFile)
	if err != nil {
		return err
	}
	if err := os.WriteFile(k.keyStore(), append(key, chain...), 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(k.trustStore(), mustRead(t, certs.CAFile), 0o644); err != nil {
		return err
	}
	k.sec = &Security{Certs: certs}
	if kind == SecuritySCRAM {
		k.sec.Mechanism, k.sec.User, k.sec.Password = "SCRAM-SHA-512", kafkaClientUser, randomPassword(t)
		return nil
	}
	k.issuer = newIssuer(t, k.dir)
	k.sec.Mechanism = "OAUTHBEARER"
	k.sec.TokenFile = k.issuer.tokenFile(t, k.dir, kafkaClientUser, kafkaTokenTTL)
	return nil
}

func mustRead(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("kafkatest: %v", err)
	}
	return b
}

func (k *Kafka) keyStore() string   { return filepath.Join(k.dir, "keystore.pem") }
func (k *Kafka) trustStore() string { return filepath.Join(k.dir, "truststore.pem") }

// Security returns how clients log in to the cluster, nil for plaintext.
func (k *Kafka) Security() *Security { return k.sec }

// Token returns an OAUTHBEARER token for subject, valid for ttl, signed by
// the key the cluster trusts; it fails t unless the cluster is
// SecurityOAuth.
func (k *Kafka) Token(t testing.TB, subject string, ttl time.Duration) string {
	t.Helper()
	if k.issuer == nil {
		t.Fatal("kafkatest: Token needs KafkaOptions.Security = SecurityOAuth")
	}
	return k.issuer.token(t, subject, ttl)
}

// JWKSFile returns the key set file the cluster's OAUTHBEARER listener
// checks tokens against, the public half of Token's key (its tokens' iss
// is "krest-kafkatest", their aud "kafka"); it fails t unless the cluster
// is SecurityOAuth.
func (k *Kafka) JWKSFile(t testing.TB) string {
	t.Helper()
	if k.issuer == nil {
		t.Fatal("kafkatest: JWKSFile needs KafkaOptions.Security = SecurityOAuth")
	}
	return k.issuer.jwksFile
}

// clientOpts are the kgo options of the cluster's own clients.
func (k *Kafka) clientOpts(t testing.TB) []kgo.Opt {
	t.Helper()
	if k.sec == nil {
		return nil
	}
	return k.sec.ClientOpts(t)
}

// securityProperties are node n's listener and security properties, which
// replace the plaintext ones.
func (k *Kafka) securityProperties(n *kafkaNode) map[string]string {
	if k.sec == nil {
		return nil
	}
	controller := "127.0.0.1:" + strconv.Itoa(n.controllerPort)
	client := "127.0.0.1:" + strconv.Itoa(n.port)
	props := map[string]string{
		"ssl.keystore.type":                                "PEM",
		"ssl.keystore.location":                            k.keyStore(),
		"ssl.truststore.type":                              "PEM",
		"ssl.truststore.location":                          k.trustStore(),
		"super.users":                                      "User:" + kafkaAdminUser,
		"sasl.mechanism.inter.broker.protocol":             "SCRAM-SHA-512",
		"sasl.mechanism.controller.protocol":               "PLAIN",
		"listener.name.controller.sasl.enabled.mechanisms": "PLAIN",
		"listener.name.controller.plain.sasl.jaas.config": fmt.Sprintf(
			`org.apache.kafka.common.security.plain.PlainLoginModule required username="%s" password="%s" user_%s="%s";`,
			kafkaAdminUser, k.adminPW, kafkaAdminUser, k.adminPW),
		"controller.listener.names": "CONTROLLER",
	}
	scramJAAS := fmt.Sprintf(`org.apache.kafka.common.security.scram.ScramLoginModule required username="%s" password="%s";`, kafkaAdminUser, k.adminPW)
	if k.security == SecuritySCRAM {
		props["listeners"] = "SASL_SSL://" + client + ",CONTROLLER://" + controller
		props["advertised.listeners"] = "SASL_SSL://" + client
		props["listener.security.protocol.map"] = "SASL_SSL:SASL_SSL,CONTROLLER:SASL_PLAINTEXT"
		props["inter.broker.listener.name"] = "SASL_SSL"
		props["listener.name.sasl_ssl.sasl.enabled.mechanisms"] = "SCRAM-SHA-512"
		props["listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config"] = scramJAAS
		return props
	}
	internal := "127.0.0.1:" + strconv.Itoa(n.internalPort)
	props["listeners"] = "OAUTH://" + client + ",INTERNAL://" + internal + ",CONTROLLER://" + controller
	props["advertised.listeners"] = "OAUTH://" + client + ",INTERNAL://" + internal
	props["listener.security.protocol.map"] = "OAUTH:SASL_SSL,INTERNAL:SASL_SSL,CONTROLLER:SASL_PLAINTEXT"
	props["inter.broker.listener.name"] = "INTERNAL"
	props["listener.name.internal.sasl.enabled.mechanisms"] = "SCRAM-SHA-512"
	props["listener.name.internal.scram-sha-512.sasl.jaas.config"] = scramJAAS
	props["listener.name.oauth.sasl.enabled.mechanisms"] = "OAUTHBEARER"
	props["listener.name.oauth.oauthbearer.sasl.jaas.config"] = "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;"
	props["listener.name.oauth.oauthbearer.sasl.server.callback.handler.class"] = "org.apache.kafka.common.security.oauthbearer.OAuthBearerValidatorCallbackHandler"
	props["sasl.oauthbearer.jwks.endpoint.url"] = "file://" + k.issuer.jwksFile
	props["sasl.oauthbearer.expected.issuer"] = jwtIssuer
	props["sasl.oauthbearer.expected.audience"] = jwtAudience // Kafka 4.4 requires one
	return props
}

// scramUsers are the --add-scram arguments of kafka-storage format.
func (k *Kafka) scramUsers() []string {
	if k.sec == nil {
		return nil
	}
	users := []string{"--add-scram", fmt.Sprintf("SCRAM-SHA-512=[name=%s,password=%s]", kafkaAdminUser, k.adminPW)}
	if k.security == SecuritySCRAM {
		users = append(users, "--add-scram", fmt.Sprintf("SCRAM-SHA-512=[name=%s,password=%s]", k.sec.User, k.sec.Password))
	}
	return users
}

// securityJVMArgs are the nodes' system properties of the security:
// Kafka 4 reads a JWKS only from a URL it is allowed.
func (k *Kafka) securityJVMArgs() []string {
	if k.issuer == nil {
		return nil
	}
	return []string{"-Dorg.apache.kafka.sasl.oauthbearer.allowed.urls=file://" + k.issuer.jwksFile}
}
