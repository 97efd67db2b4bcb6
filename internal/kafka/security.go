package kafka

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/aws"
	"github.com/twmb/franz-go/pkg/sasl/oauth"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// The SASL mechanisms krest logs in with.
const (
	MechanismPlain       = "PLAIN"
	MechanismScramSHA256 = "SCRAM-SHA-256"
	MechanismScramSHA512 = "SCRAM-SHA-512"
	MechanismOAuthBearer = "OAUTHBEARER"
	MechanismAWSMSKIAM   = "AWS_MSK_IAM"
)

// SecurityOptions say how clients secure their connections to the
// brokers: TLS, SASL, both or neither (the zero value).
type SecurityOptions struct {
	TLS  TLSOptions
	SASL SASLOptions
}

// TLSOptions configure TLS to the brokers.
type TLSOptions struct {
	// Enabled turns TLS on; without it the other fields are unused.
	Enabled bool
	// CAFile is a PEM file of the certificates that sign the brokers';
	// "" trusts the system's.
	CAFile string
	// CertFile and KeyFile are a PEM certificate (chain) and key that
	// krest presents to brokers that ask (mutual TLS). Both files are
	// read again when either changes, so that a renewed certificate is
	// used without a restart.
	CertFile, KeyFile string
	// ServerName is the name the brokers' certificates must carry; ""
	// is the host of each broker's address.
	ServerName string
	// InsecureSkipVerify accepts any certificate: for development only.
	InsecureSkipVerify bool
	// PeerCertFile, when set, trusts the one certificate in it (the
	// first of the file) as every broker's, whatever names it carries and
	// whoever signed it: how krest's clients trust the embedded broker.
	PeerCertFile string
}

// SASLOptions configure SASL authentication to the brokers.
type SASLOptions struct {
	// Mechanism is PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER,
	// AWS_MSK_IAM or "" (no SASL).
	Mechanism string

	// User and Password, or PasswordFile, for PLAIN and SCRAM. The
	// password file is read at every authentication and
	// re-authentication, so that fixing it needs no restart; one
	// trailing newline is not part of the password.
	User         string
	Password     string
	PasswordFile string

	// OAUTHBEARER takes its token from OAuthTokenFile, read at every
	// authentication, or from OAuthTokenURL with the OAuth 2.0 client
	// credentials grant (OAuthClientID, the secret in
	// OAuthClientSecretFile, read at every grant, and OAuthScopes),
	// asked again when the token has lived 80% of its lifetime.
	// OAuthExtensions are SASL extensions sent with the token (such as
	// Confluent Cloud's logicalCluster and identityPoolId). OAuthToken
	// is the token itself, instead of a file: a caller's own, which
	// krest passes on (KREST_KAFKA_IDENTITY=passthrough).
	OAuthToken            string
	OAuthTokenFile        string
	OAuthTokenURL         string
	OAuthClientID         string
	OAuthClientSecretFile string
	OAuthScopes           []string
	OAuthExtensions       map[string]string

	// AWS are the credentials of AWS_MSK_IAM. The region is that of
	// each broker's host name, else AWS_REGION or AWS_DEFAULT_REGION.
	AWS AWSCredentials
}

// AWSCredentials are AWS credentials, as the environment variables
// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN give them.
type AWSCredentials struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
}

// Security is the TLS configuration and SASL mechanism every client of
// krest connects with, built once by NewSecurity and shared, so that an
// OAuth token is asked for once for them all.
type Security struct {
	tls       *tls.Config
	mechanism sasl.Mechanism
}

// oauthTimeout bounds one token request to the OAuth token endpoint.
const oauthTimeout = 30 * time.Second

// NewSecurity reads the certificates and checks the settings, failing on
// the first that cannot work; the password, token and client secret files
// are read once here too, so that a wrong path fails at start. It warns on
// logger about certificate verification turned off, and about PLAIN
// without TLS. A nil logger logs nothing.
func NewSecurity(opts SecurityOptions, logger *slog.Logger) (*Security, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Security{}
	if opts.TLS.Enabled {
		var err error
		if s.tls, err = newTLSConfig(opts.TLS); err != nil {
			return nil, err
		}
		if opts.TLS.InsecureSkipVerify {
			logger.Warn("KAFKA TLS CERTIFICATES ARE NOT VERIFIED: anyone between krest and the brokers can read and change the traffic; for development only (KREST_KAFKA_TLS_INSECURE_SKIP_VERIFY)")
		}
	}
	var err error
	if s.mechanism, err = newMechanism(opts.SASL); err != nil {
		return nil, err
	}
	if opts.SASL.Mechanism == MechanismPlain && !opts.TLS.Enabled {
		logger.Warn("SASL PLAIN without TLS sends the password in clear text; set KREST_KAFKA_TLS=true")
	}
	return s, nil
}

// WithSASL returns a Security with s's TLS and the SASL login opts
// describe instead of s's: how a client of krest's logs in as one of its
// callers. A nil s is plaintext.
func (s *Security) WithSASL(opts SASLOptions) (*Security, error) {
	out := &Security{}
	if s != nil {
		out.tls = s.tls
	}
	var err error
	if out.mechanism, err = newMechanism(opts); err != nil {
		return nil, err
	}
	return out, nil
}

func newTLSConfig(opts TLSOptions) (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: opts.ServerName, InsecureSkipVerify: opts.InsecureSkipVerify}
	if opts.CAFile != "" {
		b, err := os.ReadFile(opts.CAFile)
		if err != nil {
			return nil, fmt.Errorf("kafka TLS CA file: %w", err)
		}
		c.RootCAs = x509.NewCertPool()
		if !c.RootCAs.AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("kafka TLS CA file %s holds no PEM certificate", opts.CAFile)
		}
	}
	if opts.CertFile != "" || opts.KeyFile != "" {
		kp := &keyPair{certFile: opts.CertFile, keyFile: opts.KeyFile}
		if _, err := kp.get(nil); err != nil {
			return nil, err
		}
		c.GetClientCertificate = kp.get
	}
	if opts.PeerCertFile != "" {
		peer, err := firstCert(opts.PeerCertFile)
		if err != nil {
			return nil, err
		}
		// Verified below instead, against the one certificate.
		c.InsecureSkipVerify = true
		c.VerifyPeerCertificate = func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 || !bytes.Equal(raw[0], peer) {
				return errors.New("the broker's certificate is not the one in " + opts.PeerCertFile)
			}
			return nil
		}
	}
	return c, nil
}

// firstCert returns the DER bytes of the first certificate in a PEM file.
func firstCert(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("kafka TLS certificate: %w", err)
	}
	for {
		var block *pem.Block
		if block, b = pem.Decode(b); block == nil {
			return nil, fmt.Errorf("kafka TLS certificate file %s holds no PEM certificate", path)
		}
		if block.Type == "CERTIFICATE" {
			return block.Bytes, nil
		}
	}
}

// keyPair is a client certificate and key, read again when either file
// changes. A pair that fails to load (caught half-written) leaves the
// previous one in use.
type keyPair struct {
	certFile, keyFile string

	mu       sync.Mutex
	cert     *tls.Certificate
	loadedAt [2]time.Time // the files' modification times
}

func (kp *keyPair) get(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	kp.mu.Lock()
	defer kp.mu.Unlock()
	var mod [2]time.Time
	for i, path := range []string{kp.certFile, kp.keyFile} {
		if fi, err := os.Stat(path); err == nil {
			mod[i] = fi.ModTime()
		}
	}
	if kp.cert != nil && mod == kp.loadedAt {
		return kp.cert, nil
	}
	pair, err := tls.LoadX509KeyPair(kp.certFile, kp.keyFile)
	if err != nil {
		if kp.cert != nil {
			return kp.cert, nil
		}
		return nil, fmt.Errorf("kafka TLS client certificate: %w", err)
	}
	kp.cert, kp.loadedAt = &pair, mod
	return kp.cert, nil
}

func newMechanism(opts SASLOptions) (sasl.Mechanism, error) {
	switch opts.Mechanism {
	case "":
		return nil, nil
	case MechanismPlain, MechanismScramSHA256, MechanismScramSHA512:
		password := func() (string, error) { return opts.Password, nil }
		if opts.PasswordFile != "" {
			password = func() (string, error) { return readSecret(opts.PasswordFile, "password file") }
		}
		if _, err := password(); err != nil {
			return nil, err
		}
		switch opts.Mechanism {
		case MechanismPlain:
			return plain.Plain(func(context.Context) (plain.Auth, error) {
				p, err := password()
				return plain.Auth{User: opts.User, Pass: p}, err
			}), nil
		case MechanismScramSHA256:
			return scram.Sha256(func(context.Context) (scram.Auth, error) {
				p, err := password()
				return scram.Auth{User: opts.User, Pass: p}, err
			}), nil
		default:
			return scram.Sha512(func(context.Context) (scram.Auth, error) {
				p, err := password()
				return scram.Auth{User: opts.User, Pass: p}, err
			}), nil
		}
	case MechanismOAuthBearer:
		token, err := newTokenSource(opts)
		if err != nil {
			return nil, err
		}
		return oauth.Oauth(func(ctx context.Context) (oauth.Auth, error) {
			t, err := token(ctx)
			return oauth.Auth{Token: t, Extensions: opts.OAuthExtensions}, err
		}), nil
	case MechanismAWSMSKIAM:
		if opts.AWS.AccessKeyID == "" || opts.AWS.SecretAccessKey == "" {
			return nil, errors.New("AWS_MSK_IAM needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
		}
		return aws.Auth{AccessKey: opts.AWS.AccessKeyID, SecretKey: opts.AWS.SecretAccessKey,
			SessionToken: opts.AWS.SessionToken}.AsManagedStreamingIAMMechanism(), nil
	}
	return nil, fmt.Errorf("SASL mechanism %q: want PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER or AWS_MSK_IAM", opts.Mechanism)
}

// readSecret reads a password, token or client secret from path, without
// one trailing newline. Its errors wrap ErrAuthentication and never hold
// the file's content.
func readSecret(path, what string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%w: reading the %s: %v", ErrAuthentication, what, err)
	}
	s := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	if s == "" {
		return "", fmt.Errorf("%w: the %s %s is empty", ErrAuthentication, what, path)
	}
	return s, nil
}

// newTokenSource returns what gives OAUTHBEARER its token: the token file,
// or a cache of the client credentials grant.
func newTokenSource(opts SASLOptions) (func(context.Context) (string, error), error) {
	if opts.OAuthToken != "" {
		return func(context.Context) (string, error) { return opts.OAuthToken, nil }, nil
	}
	if opts.OAuthTokenFile != "" {
		read := func(context.Context) (string, error) {
			t, err := readSecret(opts.OAuthTokenFile, "OAuth token file")
			return strings.TrimSpace(t), err
		}
		_, err := read(context.Background())
		return read, err
	}
	if opts.OAuthTokenURL == "" || opts.OAuthClientID == "" || opts.OAuthClientSecretFile == "" {
		return nil, errors.New("OAUTHBEARER needs a token file, or a token URL, a client ID and a client secret file")
	}
	if _, err := readSecret(opts.OAuthClientSecretFile, "OAuth client secret file"); err != nil {
		return nil, err
	}
	g := &grant{
		secretFile: opts.OAuthClientSecretFile,
		cfg:        clientcredentials.Config{ClientID: opts.OAuthClientID, TokenURL: opts.OAuthTokenURL, Scopes: opts.OAuthScopes},
		http:       &http.Client{Timeout: oauthTimeout},
		now:        time.Now,
	}
	return g.token, nil
}

// grant caches the token of the client credentials grant. It asks for a new
// one once the token has lived 80% of its lifetime (as Kafka's Java client
// does, sasl.login.refresh.window.factor), keeping the old one while it
// lasts if asking fails.
type grant struct {
	secretFile string
	http       *http.Client
	now        func() time.Time

	mu        sync.Mutex
	cfg       clientcredentials.Config // ClientSecret set before each request
	cached    string                   // the access token
	refreshAt time.Time
	expiresAt time.Time // zero: the endpoint gave no lifetime
}

// grantNoExpiry is how long a token whose endpoint gave no lifetime is kept.
const grantNoExpiry = 5 * time.Minute

func (g *grant) token(ctx context.Context) (string, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	if g.cached != "" && now.Before(g.refreshAt) {
		return g.cached, nil
	}
	t, err := g.fetch(ctx)
	if err != nil {
		if g.cached != "" && (g.expiresAt.IsZero() || now.Before(g.expiresAt)) {
			return g.cached, nil
		}
		return "", err
	}
	g.cached, g.refreshAt, g.expiresAt = t.AccessToken, now.Add(grantNoExpiry), time.Time{}
	if !t.Expiry.IsZero() {
		// The library dates Expiry by the wall clock; the lifetime is
		// what counts.
		lifetime := time.Until(t.Expiry)
		g.refreshAt, g.expiresAt = now.Add(lifetime*8/10), now.Add(lifetime)
	}
	return g.cached, nil
}

func (g *grant) fetch(ctx context.Context) (*oauth2.Token, error) {
	secret, err := readSecret(g.secretFile, "OAuth client secret file")
	if err != nil {
		return nil, err
	}
	g.cfg.ClientSecret = secret
	ctx, cancel := context.WithTimeout(ctx, oauthTimeout)
	defer cancel()
	t, err := g.cfg.Token(context.WithValue(ctx, oauth2.HTTPClient, g.http))
	if err != nil {
		return nil, fmt.Errorf("%w: OAuth token from %s: %v", ErrAuthentication, g.cfg.TokenURL, err)
	}
	if t.AccessToken == "" {
		return nil, fmt.Errorf("%w: OAuth token endpoint %s answered no access token", ErrAuthentication, g.cfg.TokenURL)
	}
	return t, nil
}
