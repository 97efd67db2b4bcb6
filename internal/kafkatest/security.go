package kafkatest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/oauth"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"krest/internal/broker"
)

// The kinds of security a test cluster can require of its clients, as
// KREST_TEST_KAFKA_SECURITY names them.
const (
	// SecurityPlaintext is no TLS and no SASL, the default.
	SecurityPlaintext = "plaintext"
	// SecuritySCRAM is SASL_SSL with SCRAM-SHA-512.
	SecuritySCRAM = "scram"
	// SecurityOAuth is SASL_SSL with OAUTHBEARER: JWTs the test signs,
	// which the brokers check against a JWKS file. Real Kafka only: kfake
	// has no OAUTHBEARER.
	SecurityOAuth = "oauth"
)

// SecurityKind returns the kind KREST_TEST_KAFKA_SECURITY asks for,
// SecurityPlaintext when unset, failing t on any other value.
func SecurityKind(t testing.TB) string {
	t.Helper()
	switch kind := os.Getenv("KREST_TEST_KAFKA_SECURITY"); kind {
	case "", SecurityPlaintext:
		return SecurityPlaintext
	case SecuritySCRAM, SecurityOAuth:
		return kind
	default:
		t.Fatalf("KREST_TEST_KAFKA_SECURITY=%q: want plaintext, scram or oauth", kind)
		return ""
	}
}

// Security is what a client needs to reach a secured test cluster: its CA,
// and a SASL login.
type Security struct {
	// Mechanism is the SASL mechanism: SCRAM-SHA-512, PLAIN or
	// OAUTHBEARER.
	Mechanism string
	// User and Password log in with PLAIN or SCRAM.
	User, Password string
	// TokenFile holds an OAUTHBEARER token valid for the test's life.
	TokenFile string
	// Certs are the cluster's certificates: TLS is on when set, and
	// Certs.CAFile is the clients' trust.
	Certs *Certs
}

// ClientOpts returns the kgo options that connect with s.
func (s *Security) ClientOpts(t testing.TB) []kgo.Opt {
	t.Helper()
	var opts []kgo.Opt
	if s.Certs != nil {
		opts = append(opts, kgo.DialTLSConfig(s.Certs.ClientTLS()))
	}
	var m sasl.Mechanism
	switch s.Mechanism {
	case "PLAIN":
		m = plain.Auth{User: s.User, Pass: s.Password}.AsMechanism()
	case "SCRAM-SHA-256":
		m = scram.Auth{User: s.User, Pass: s.Password}.AsSha256Mechanism()
	case "SCRAM-SHA-512":
		m = scram.Auth{User: s.User, Pass: s.Password}.AsSha512Mechanism()
	case "OAUTHBEARER":
		token, err := os.ReadFile(s.TokenFile)
		if err != nil {
			t.Fatalf("kafkatest: %v", err)
		}
		m = oauth.Auth{Token: string(token)}.AsMechanism()
	case "":
	default:
		t.Fatalf("kafkatest: no SASL mechanism %q", s.Mechanism)
	}
	if m != nil {
		opts = append(opts, kgo.SASL(m))
	}
	return opts
}

// secured maps each secured test cluster's broker addresses to its
// Security, so that NewClient and krest's own test harness connect to it
// whatever test started it.
var secured sync.Map // string → *Security

// register records s for addrs until t ends.
func register(t testing.TB, addrs []string, s *Security) {
	for _, a := range addrs {
		secured.Store(a, s)
	}
	t.Cleanup(func() {
		for _, a := range addrs {
			secured.Delete(a)
		}
	})
}

// SecurityOf returns the Security of the test cluster whose brokers these
// are, or nil when it requires none.
func SecurityOf(brokers []string) *Security {
	for _, b := range brokers {
		if s, ok := secured.Load(b); ok {
			return s.(*Security)
		}
	}
	return nil
}

// NewSecureFake starts a kfake broker (see NewFake) that serves TLS with a
// fresh CA's certificate and requires SASL mechanism (PLAIN, SCRAM-SHA-256
// or SCRAM-SHA-512) as user "krest" with a random password, answering as
// Kafka does where kfake does not (broker.KafkaListener: a refused login is
// SASL_AUTHENTICATION_FAILED, SaslHandshake v0 is served, the handshake
// lists the mechanism); SecurityOf returns how to reach it.
func NewSecureFake(t testing.TB, mechanism string, opts ...kfake.Opt) (*Fake, *Security) {
	t.Helper()
	s := &Security{Mechanism: mechanism, User: "krest", Password: randomPassword(t), Certs: NewCerts(t)}
	serverTLS := s.Certs.ServerTLS(t, tls.NoClientCert)
	listen := kfake.ListenFn(func(network, addr string) (net.Listener, error) {
		ln, err := net.Listen(network, addr)
		if err != nil {
			return nil, err
		}
		return broker.KafkaListener(tls.NewListener(ln, serverTLS), mechanism), nil
	})
	f := NewFake(t, append([]kfake.Opt{listen, kfake.EnableSASL(), kfake.Superuser(mechanism, s.User, s.Password)}, opts...)...)
	register(t, f.Brokers(), s)
	return f, s
}

func randomPassword(t testing.TB) string {
	t.Helper()
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("kafkatest: %v", err)
	}
	return hex.EncodeToString(b[:])
}

// issuer signs OAUTHBEARER tokens (RS256 JWTs) with a key whose public half
// it writes to a JWKS file, as an identity provider would publish it.
type issuer struct {
	key      *rsa.PrivateKey
	jwksFile string
}

// The iss and aud claims of the tokens, and their key's kid.
const (
	jwtIssuer   = "krest-kafkatest"
	jwtAudience = "kafka"
	jwtKeyID    = "krest-kafkatest-1"
)

func newIssuer(t testing.TB, dir string) *issuer {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatalf("kafkatest: %v", err)
	}
	b64 := base64.RawURLEncoding.EncodeToString
	jwks, _ := json.Marshal(map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "use": "sig", "alg": "RS256", "kid": jwtKeyID,
		"n": b64(key.N.Bytes()), "e": b64(big.NewInt(int64(key.E)).Bytes()),
	}}})
	is := &issuer{key: key, jwksFile: filepath.Join(dir, "jwks.json")}
	if err := os.WriteFile(is.jwksFile, jwks, 0o644); err != nil {
		t.Fatalf("kafkatest: %v", err)
	}
	return is
}

// token returns a JWT for subject, valid from a minute ago for ttl.
func (is *issuer) token(t testing.TB, subject string, ttl time.Duration) string {
	t.Helper()
	b64 := base64.RawURLEncoding.EncodeToString
	header, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": jwtKeyID})
	now := time.Now()
	claims, _ := json.Marshal(map[string]any{"iss": jwtIssuer, "aud": jwtAudience, "sub": subject, "scope": "kafka",
		"iat": now.Add(-time.Minute).Unix(), "exp": now.Add(ttl).Unix()})
	signing := b64(header) + "." + b64(claims)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, is.key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatalf("kafkatest: %v", err)
	}
	return signing + "." + b64(sig)
}

// tokenFile writes a token for subject, valid for ttl, into dir.
func (is *issuer) tokenFile(t testing.TB, dir, subject string, ttl time.Duration) string {
	t.Helper()
	path := filepath.Join(dir, fmt.Sprintf("token-%s.jwt", subject))
	if err := os.WriteFile(path, []byte(is.token(t, subject, ttl)), 0o600); err != nil {
		t.Fatalf("kafkatest: %v", err)
	}
	return path
}
