package kafka

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
	"golang.org/x/oauth2/clientcredentials"

	"krest/internal/kafkatest"
)

// connect builds a client on brokers with sec and returns the error of a
// metadata request.
func connect(t *testing.T, brokers []string, sec SecurityOptions, logger *slog.Logger) error {
	t.Helper()
	s, err := NewSecurity(sec, nil)
	if err != nil {
		t.Fatalf("NewSecurity: %v", err)
	}
	cl, err := NewProducerClient(ProducerOptions{Options: Options{Brokers: brokers, Security: s, Logger: logger},
		MaxBufferedRecords: 10, MaxBufferedBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = kadm.NewClient(cl).BrokerMetadata(ctx)
	return err
}

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestTLS connects to a kfake serving TLS with each way of trusting it, and
// presenting a client certificate to one that requires it.
func TestTLS(t *testing.T) {
	certs := kafkatest.NewCerts(t)
	plain := kafkatest.NewFake(t, kfake.TLS(certs.ServerTLS(t, tls.VerifyClientCertIfGiven)))
	mutual := kafkatest.NewFake(t, kfake.TLS(certs.ServerTLS(t, tls.RequireAndVerifyClientCert)))
	for _, tt := range []struct {
		name    string
		c       *kafkatest.Fake
		opts    TLSOptions
		wantErr bool
	}{
		{"CA file", plain, TLSOptions{CAFile: certs.CAFile}, false},
		{"system roots only", plain, TLSOptions{}, true},
		{"server name in the certificate", plain, TLSOptions{CAFile: certs.CAFile, ServerName: "localhost"}, false},
		{"server name not in the certificate", plain, TLSOptions{CAFile: certs.CAFile, ServerName: "kafka.example.com"}, true},
		{"the broker's certificate pinned", plain, TLSOptions{PeerCertFile: certs.ServerChainFile, ServerName: "kafka.example.com"}, false},
		{"another certificate pinned", plain, TLSOptions{PeerCertFile: certs.ClientCertFile}, true},
		{"verification off", plain, TLSOptions{InsecureSkipVerify: true}, false},
		{"mutual TLS", mutual, TLSOptions{CAFile: certs.CAFile, CertFile: certs.ClientCertFile, KeyFile: certs.ClientKeyFile}, false},
		{"mutual TLS without a certificate", mutual, TLSOptions{CAFile: certs.CAFile}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Enabled = true
			err := connect(t, tt.c.Brokers(), SecurityOptions{TLS: tt.opts}, nil)
			if (err != nil) != tt.wantErr {
				t.Errorf("got %v, want error %v", err, tt.wantErr)
			}
		})
	}
}

// TestClientCertReload renews the client certificate files while a client
// runs: its next connection presents the new certificate.
func TestClientCertReload(t *testing.T) {
	first, second := kafkatest.NewCerts(t), kafkatest.NewCerts(t)
	dir := t.TempDir()
	copyFile := func(from, to string) {
		b, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, to, string(b))
	}
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	copyFile(first.ClientCertFile, certFile)
	copyFile(first.ClientKeyFile, keyFile)
	kp := &keyPair{certFile: certFile, keyFile: keyFile}
	a, err := kp.get(nil)
	if err != nil {
		t.Fatal(err)
	}
	copyFile(second.ClientCertFile, certFile)
	copyFile(second.ClientKeyFile, keyFile)
	// Modification times may be coarse: make the change visible.
	later := time.Now().Add(time.Minute)
	_ = os.Chtimes(certFile, later, later)
	b, err := kp.get(nil)
	if err != nil || bytes.Equal(a.Certificate[0], b.Certificate[0]) {
		t.Fatalf("after renewal: %v, same certificate %v", err, err == nil)
	}
	writeFile(t, keyFile, "half written")
	_ = os.Chtimes(keyFile, later.Add(time.Minute), later.Add(time.Minute))
	if c, err := kp.get(nil); err != nil || !bytes.Equal(c.Certificate[0], b.Certificate[0]) {
		t.Errorf("with a broken key file: %v; want the previous certificate kept", err)
	}
}

// TestSASLPassword logs in to kfake with PLAIN and SCRAM, with the
// password given and in a file, and with a wrong one.
func TestSASLPassword(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, filepath.Join(dir, "good"), "s3cret\n")
	bad := writeFile(t, filepath.Join(dir, "bad"), "wrong\n")
	for _, mech := range []string{MechanismPlain, MechanismScramSHA256, MechanismScramSHA512} {
		t.Run(mech, func(t *testing.T) {
			c := kafkatest.NewFake(t, kfake.EnableSASL(), kfake.Superuser(mech, "krest", "s3cret"))
			for _, tt := range []struct {
				name string
				opts SASLOptions
				ok   bool
			}{
				{"password", SASLOptions{Password: "s3cret"}, true},
				{"password file", SASLOptions{PasswordFile: good}, true},
				{"wrong password", SASLOptions{Password: "wrong"}, false},
				{"wrong password file", SASLOptions{PasswordFile: bad}, false},
			} {
				t.Run(tt.name, func(t *testing.T) {
					tt.opts.Mechanism, tt.opts.User = mech, "krest"
					err := connect(t, c.Brokers(), SecurityOptions{SASL: tt.opts}, nil)
					if tt.ok && err != nil {
						t.Errorf("got %v", err)
					}
					// kfake closes the connection on a refused login;
					// krest's embedded broker answers like Kafka.
					if !tt.ok && err == nil {
						t.Error("logged in")
					}
				})
			}
		})
	}
}

// TestPasswordFileReread fixes a wrong password file while a client keeps
// failing: its next login reads the file again, and it recovers without a
// restart.
func TestPasswordFileReread(t *testing.T) {
	c := kafkatest.NewFake(t, kfake.EnableSASL(), kfake.Superuser(MechanismScramSHA512, "krest", "s3cret"))
	file := writeFile(t, filepath.Join(t.TempDir(), "password"), "wrong")
	s, err := NewSecurity(SecurityOptions{SASL: SASLOptions{Mechanism: MechanismScramSHA512, User: "krest", PasswordFile: file}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := NewProducerClient(ProducerOptions{Options: Options{Brokers: c.Brokers(), Security: s}, MaxBufferedRecords: 10, MaxBufferedBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ping := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err := kadm.NewClient(cl).BrokerMetadata(ctx)
		return err
	}
	if err := ping(); err == nil {
		t.Fatal("logged in with a wrong password")
	}
	writeFile(t, file, "s3cret\n")
	kafkatest.WaitFor(t, 10*time.Second, ping)
}

// saslRecorder is a kfake whose control hooks play a broker's side of
// SASL mechanisms kfake lacks (OAUTHBEARER, AWS_MSK_IAM): they accept the
// handshake, record every SaslAuthenticate's bytes, and answer with check's
// verdict, and a session lifetime of lifetime when set, so that clients
// re-authenticate.
type saslRecorder struct {
	*kafkatest.Fake
	mu         sync.Mutex
	mechanisms []string
	auths      [][]byte
}

func newSASLRecorder(t *testing.T, lifetime time.Duration, serverFirst []byte, check func([]byte) error) *saslRecorder {
	t.Helper()
	r := &saslRecorder{Fake: kafkatest.NewFake(t)}
	r.ControlKey(kmsg.SASLHandshake.Int16(), func(req kmsg.Request) (kmsg.Response, error, bool) {
		r.KeepControl()
		hs := req.(*kmsg.SASLHandshakeRequest)
		r.mu.Lock()
		r.mechanisms = append(r.mechanisms, hs.Mechanism)
		r.mu.Unlock()
		resp := hs.ResponseKind().(*kmsg.SASLHandshakeResponse)
		resp.SupportedMechanisms = []string{MechanismOAuthBearer, MechanismAWSMSKIAM}
		return resp, nil, true
	})
	r.ControlKey(kmsg.SASLAuthenticate.Int16(), func(req kmsg.Request) (kmsg.Response, error, bool) {
		r.KeepControl()
		auth := req.(*kmsg.SASLAuthenticateRequest)
		r.mu.Lock()
		r.auths = append(r.auths, bytes.Clone(auth.SASLAuthBytes))
		r.mu.Unlock()
		resp := auth.ResponseKind().(*kmsg.SASLAuthenticateResponse)
		if err := check(auth.SASLAuthBytes); err != nil {
			resp.ErrorCode = kerr.SaslAuthenticationFailed.Code
			msg := err.Error()
			resp.ErrorMessage = &msg
			return resp, nil, true
		}
		resp.SASLAuthBytes = serverFirst
		resp.SessionLifetimeMillis = lifetime.Milliseconds()
		return resp, nil, true
	})
	return r
}

// seen returns the mechanisms and authentication bytes recorded so far.
func (r *saslRecorder) seen() ([]string, [][]byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.mechanisms...), append([][]byte(nil), r.auths...)
}

// bearer returns the token of an OAUTHBEARER client-first message, and its
// extensions.
func bearer(msg []byte) (string, map[string]string, error) {
	parts := strings.Split(string(msg), "\x01")
	if len(parts) < 3 || parts[0] != "n,," || !strings.HasPrefix(parts[1], "auth=Bearer ") {
		return "", nil, fmt.Errorf("not an OAUTHBEARER client-first message: %q", msg)
	}
	ext := map[string]string{}
	for _, kv := range parts[2:] {
		if k, v, ok := strings.Cut(kv, "="); ok {
			ext[k] = v
		}
	}
	return strings.TrimPrefix(parts[1], "auth=Bearer "), ext, nil
}

// TestOAuthTokenFile logs in with the token in a file, and replaces the
// file: the client's next re-authentication, which the broker's session
// lifetime calls for, sends the new token without a restart.
func TestOAuthTokenFile(t *testing.T) {
	r := newSASLRecorder(t, 2*time.Second, nil, func(msg []byte) error {
		_, _, err := bearer(msg)
		return err
	})
	file := writeFile(t, filepath.Join(t.TempDir(), "token"), "token-1\n")
	s, err := NewSecurity(SecurityOptions{SASL: SASLOptions{Mechanism: MechanismOAuthBearer, OAuthTokenFile: file,
		OAuthExtensions: map[string]string{"logicalCluster": "lkc-1"}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := NewProducerClient(ProducerOptions{Options: Options{Brokers: r.Brokers(), Security: s}, MaxBufferedRecords: 10, MaxBufferedBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	// Metadata for every topic: it goes to the broker once the
	// client's copy is a second old.
	ping := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err := kadm.NewClient(cl).ListTopics(ctx)
		return err
	}
	if err := ping(); err != nil {
		t.Fatal(err)
	}
	mechs, auths := r.seen()
	token, ext, err := bearer(auths[0])
	if mechs[0] != MechanismOAuthBearer || err != nil || token != "token-1" || ext["logicalCluster"] != "lkc-1" {
		t.Fatalf("mechanism %s, token %q, extensions %v, %v", mechs[0], token, ext, err)
	}
	writeFile(t, file, "token-2")
	kafkatest.WaitFor(t, 15*time.Second, func() error {
		if err := ping(); err != nil {
			return err
		}
		_, auths := r.seen()
		if token, _, _ := bearer(auths[len(auths)-1]); token != "token-2" {
			return fmt.Errorf("last login with %q of %d", token, len(auths))
		}
		return nil
	})
}

// tokenEndpoint is an OAuth 2.0 token endpoint for the client credentials
// grant of client "krest" with the secret in secret: each grant issues
// token-N, valid for expiresIn seconds.
type tokenEndpoint struct {
	*httptest.Server
	secret    string
	expiresIn int

	mu     sync.Mutex
	grants int
	scopes []string
	fail   bool
}

func newTokenEndpoint(t *testing.T, secret string, expiresIn int) *tokenEndpoint {
	t.Helper()
	e := &tokenEndpoint{secret: secret, expiresIn: expiresIn}
	e.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		defer e.mu.Unlock()
		id, secret, ok := r.BasicAuth()
		if !ok {
			id, secret = r.PostFormValue("client_id"), r.PostFormValue("client_secret")
		}
		if e.fail || r.PostFormValue("grant_type") != "client_credentials" || id != "krest" || secret != e.secret {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":"invalid_client"}`))
			return
		}
		e.grants++
		e.scopes = append(e.scopes, r.PostFormValue("scope"))
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": fmt.Sprintf("token-%d", e.grants),
			"token_type": "bearer", "expires_in": e.expiresIn})
	}))
	t.Cleanup(e.Close)
	return e
}

// TestOAuthClientCredentials logs in with a token from the client
// credentials grant, and checks the grant's refresh schedule on a clock of
// its own: a token is used until 80% of its lifetime, then asked for again,
// with the client secret file read again; while the endpoint fails, the
// token in hand serves until it expires.
func TestOAuthClientCredentials(t *testing.T) {
	e := newTokenEndpoint(t, "client-s3cret", 100)
	secretFile := writeFile(t, filepath.Join(t.TempDir(), "secret"), "client-s3cret\n")
	opts := SASLOptions{Mechanism: MechanismOAuthBearer, OAuthTokenURL: e.URL, OAuthClientID: "krest",
		OAuthClientSecretFile: secretFile, OAuthScopes: []string{"kafka", "produce"}}

	r := newSASLRecorder(t, 0, nil, func(msg []byte) error {
		if token, _, err := bearer(msg); err != nil || token != "token-1" {
			return fmt.Errorf("invalid token %q (%v)", token, err)
		}
		return nil
	})
	if err := connect(t, r.Brokers(), SecurityOptions{SASL: opts}, nil); err != nil {
		t.Fatal(err)
	}
	if e.scopes[0] != "kafka produce" {
		t.Errorf("scope %q, want %q", e.scopes[0], "kafka produce")
	}

	now := time.Now()
	g := &grant{secretFile: secretFile, http: http.DefaultClient, now: func() time.Time { return now },
		cfg: clientcredentials.Config{ClientID: opts.OAuthClientID, TokenURL: opts.OAuthTokenURL, Scopes: opts.OAuthScopes}}
	ctx := context.Background()
	for _, step := range []struct {
		at      time.Duration // since the first grant
		secret  string        // written to the file first, if set
		fail    bool
		want    string
		wantErr bool
	}{
		{at: 0, want: "token-2"}, // token-1 went to the login above
		{at: 79 * time.Second, want: "token-2"},
		{at: 81 * time.Second, secret: "rotated", want: "token-2"}, // the endpoint refuses the new secret: keep token-2
		{at: 82 * time.Second, secret: "client-s3cret", want: "token-3"},
		{at: 82*time.Second + 81*time.Second, fail: true, want: "token-3"},
		{at: 82*time.Second + 101*time.Second, fail: true, wantErr: true},
	} {
		if step.secret != "" {
			writeFile(t, secretFile, step.secret)
		}
		e.mu.Lock()
		e.fail = step.fail
		e.mu.Unlock()
		now = time.Now().Add(step.at)
		got, err := g.token(ctx)
		if step.wantErr {
			if !errors.Is(err, ErrAuthentication) {
				t.Errorf("at %s: %q, %v; want ErrAuthentication", step.at, got, err)
			}
			continue
		}
		if err != nil || got != step.want {
			t.Errorf("at %s: %q, %v; want %s", step.at, got, err, step.want)
		}
	}
}

// TestAWSMSKIAM checks, with no MSK here to log in to, that AWS_MSK_IAM is
// the mechanism asked for, and that what the client sends is signed with
// the credentials given: the signature is computed again here, by the
// Signature Version 4 steps MSK follows, from the secret key.
func TestAWSMSKIAM(t *testing.T) {
	t.Setenv("AWS_REGION", "eu-west-1")
	creds := AWSCredentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", SessionToken: "session-token"}
	r := newSASLRecorder(t, 0, []byte(`{"version":"2020_10_22","request-id":"1"}`), func(msg []byte) error {
		return verifyMSKSignature(msg, creds.SecretAccessKey)
	})
	if err := connect(t, r.Brokers(), SecurityOptions{SASL: SASLOptions{Mechanism: MechanismAWSMSKIAM, AWS: creds}}, nil); err != nil {
		t.Fatal(err)
	}
	mechs, auths := r.seen()
	var payload map[string]string
	if err := json.Unmarshal(auths[0], &payload); err != nil {
		t.Fatal(err)
	}
	if mechs[0] != MechanismAWSMSKIAM || payload["action"] != "kafka-cluster:Connect" ||
		!strings.HasPrefix(payload["x-amz-credential"], "AKIDEXAMPLE/") || !strings.Contains(payload["x-amz-credential"], "/eu-west-1/kafka-cluster/") ||
		payload["x-amz-security-token"] != "session-token" {
		t.Errorf("mechanism %s, payload %v", mechs[0], payload)
	}
	if err := connect(t, r.Brokers(), SecurityOptions{SASL: SASLOptions{Mechanism: MechanismAWSMSKIAM,
		AWS: AWSCredentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "another key"}}}, nil); !errors.Is(err, kerr.SaslAuthenticationFailed) {
		t.Errorf("signed with another secret key: %v, want SASL_AUTHENTICATION_FAILED", err)
	}
}

// verifyMSKSignature checks the AWS_MSK_IAM payload's signature against
// secretKey: a presigned GET of / at the payload's host, signing the host
// header alone.
func verifyMSKSignature(msg []byte, secretKey string) error {
	var p map[string]string
	if err := json.Unmarshal(msg, &p); err != nil {
		return err
	}
	q := url.Values{}
	for _, k := range []string{"Action", "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-Security-Token", "X-Amz-SignedHeaders"} {
		if v, ok := p[strings.ToLower(k)]; ok {
			q.Set(k, v)
		}
	}
	emptyHash := sha256.Sum256(nil)
	canonical := "GET\n/\n" + strings.ReplaceAll(q.Encode(), "+", "%20") + "\nhost:" + p["host"] + "\n\nhost\n" + hex.EncodeToString(emptyHash[:])
	cred := strings.SplitN(p["x-amz-credential"], "/", 2)
	if len(cred) != 2 {
		return fmt.Errorf("credential %q", p["x-amz-credential"])
	}
	scope := cred[1] // date/region/service/aws4_request
	parts := strings.Split(scope, "/")
	canonHash := sha256.Sum256([]byte(canonical))
	toSign := "AWS4-HMAC-SHA256\n" + p["x-amz-date"] + "\n" + scope + "\n" + hex.EncodeToString(canonHash[:])
	mac := func(key []byte, data string) []byte {
		h := hmac.New(sha256.New, key)
		h.Write([]byte(data))
		return h.Sum(nil)
	}
	key := []byte("AWS4" + secretKey)
	for _, part := range parts {
		key = mac(key, part)
	}
	if want := hex.EncodeToString(mac(key, toSign)); p["x-amz-signature"] != want {
		return errors.New("signature does not match")
	}
	return nil
}

// TestAuthFailureLoggedQuietly checks that a client failing to log in does
// not log kgo's "unable to initialize sasl" at every attempt: readiness
// reports the failure.
func TestAuthFailureLoggedQuietly(t *testing.T) {
	r := newSASLRecorder(t, 0, nil, func([]byte) error { return errors.New("invalid_token") })
	file := writeFile(t, filepath.Join(t.TempDir(), "token"), "expired")
	var buf syncBuffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn}))
	err := connect(t, r.Brokers(), SecurityOptions{SASL: SASLOptions{Mechanism: MechanismOAuthBearer, OAuthTokenFile: file}}, logger)
	if !errors.Is(err, kerr.SaslAuthenticationFailed) {
		t.Fatalf("got %v, want SASL_AUTHENTICATION_FAILED", err)
	}
	if strings.Contains(buf.String(), "sasl") {
		t.Errorf("logged:\n%s", buf.String())
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestNewSecurityErrors checks that settings that cannot work fail at
// start, saying why, and never with the password.
func TestNewSecurityErrors(t *testing.T) {
	dir := t.TempDir()
	notPEM := writeFile(t, filepath.Join(dir, "not.pem"), "hello")
	empty := writeFile(t, filepath.Join(dir, "empty"), "\n")
	for _, tt := range []struct {
		name string
		opts SecurityOptions
		want string
	}{
		{"missing CA file", SecurityOptions{TLS: TLSOptions{Enabled: true, CAFile: filepath.Join(dir, "nope.pem")}}, "CA file"},
		{"CA file not PEM", SecurityOptions{TLS: TLSOptions{Enabled: true, CAFile: notPEM}}, "no PEM certificate"},
		{"client key pair", SecurityOptions{TLS: TLSOptions{Enabled: true, CertFile: notPEM, KeyFile: notPEM}}, "client certificate"},
		{"missing password file", SecurityOptions{SASL: SASLOptions{Mechanism: MechanismPlain, User: "u", PasswordFile: filepath.Join(dir, "nope")}}, "password file"},
		{"empty password file", SecurityOptions{SASL: SASLOptions{Mechanism: MechanismPlain, User: "u", PasswordFile: empty}}, "is empty"},
		{"OAuth without a source", SecurityOptions{SASL: SASLOptions{Mechanism: MechanismOAuthBearer}}, "token file, or a token URL"},
		{"AWS without keys", SecurityOptions{SASL: SASLOptions{Mechanism: MechanismAWSMSKIAM, Password: "s3cret"}}, "AWS_ACCESS_KEY_ID"},
		{"unknown mechanism", SecurityOptions{SASL: SASLOptions{Mechanism: "GSSAPI", Password: "s3cret"}}, "want PLAIN"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewSecurity(tt.opts, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "s3cret") {
				t.Errorf("got %v, want an error saying %q", err, tt.want)
			}
		})
	}
}

// TestSecurityWarnings checks the warnings NewSecurity logs at start:
// certificate verification off, and PLAIN in clear text.
func TestSecurityWarnings(t *testing.T) {
	for _, tt := range []struct {
		name string
		opts SecurityOptions
		want string
	}{
		{"verification off", SecurityOptions{TLS: TLSOptions{Enabled: true, InsecureSkipVerify: true}}, "KAFKA TLS CERTIFICATES ARE NOT VERIFIED"},
		{"PLAIN without TLS", SecurityOptions{SASL: SASLOptions{Mechanism: MechanismPlain, User: "u", Password: "p"}}, "sends the password in clear text"},
		{"PLAIN over TLS", SecurityOptions{TLS: TLSOptions{Enabled: true}, SASL: SASLOptions{Mechanism: MechanismPlain, User: "u", Password: "p"}}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var buf syncBuffer
			if _, err := NewSecurity(tt.opts, slog.New(slog.NewTextHandler(&buf, nil))); err != nil {
				t.Fatal(err)
			}
			if got := buf.String(); tt.want == "" && got != "" || !strings.Contains(got, tt.want) {
				t.Errorf("logged %q, want %q", got, tt.want)
			}
		})
	}
}

// TestWithSASL logs in with the TLS of one Security and the SASL login of
// another's: a password, then a token held in memory, while the first
// still logs in as itself.
func TestWithSASL(t *testing.T) {
	c, sec := kafkatest.NewSecureFake(t, MechanismScramSHA512, kfake.User(MechanismScramSHA512, "alice", "alice-pw"))
	base, err := NewSecurity(SecurityOptions{TLS: TLSOptions{Enabled: true, CAFile: sec.Certs.CAFile},
		SASL: SASLOptions{Mechanism: MechanismScramSHA512, User: sec.User, Password: sec.Password}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ping := func(t *testing.T, brokers []string, s *Security) error {
		t.Helper()
		cl, err := NewProducerClient(ProducerOptions{Options: Options{Brokers: brokers, Security: s}, MaxBufferedRecords: 10, MaxBufferedBytes: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return cl.Ping(ctx)
	}
	for _, tt := range []struct {
		name     string
		password string
		ok       bool
	}{
		{"the caller's password", "alice-pw", true},
		{"a wrong password", "wrong", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			alice, err := base.WithSASL(SASLOptions{Mechanism: MechanismScramSHA512, User: "alice", Password: tt.password})
			if err != nil {
				t.Fatal(err)
			}
			if err := ping(t, c.Brokers(), alice); (err == nil) != tt.ok {
				t.Errorf("ping as alice: %v", err)
			}
			if tt.ok {
				return
			}
			if err := ping(t, c.Brokers(), base); err != nil {
				t.Errorf("the base no longer logs in: %v", err)
			}
		})
	}

	r := newSASLRecorder(t, 0, nil, func([]byte) error { return nil })
	bearerSec, err := (*Security)(nil).WithSASL(SASLOptions{Mechanism: MechanismOAuthBearer, OAuthToken: "caller-token"})
	if err != nil {
		t.Fatal(err)
	}
	if err := ping(t, r.Brokers(), bearerSec); err != nil {
		t.Fatal(err)
	}
	_, auths := r.seen()
	if token, _, err := bearer(auths[0]); err != nil || token != "caller-token" {
		t.Errorf("logged in with token %q (%v)", token, err)
	}
}
