package kafkatest

import (
	"crypto/tls"
	"crypto/x509"
	"path/filepath"
	"testing"

	"krest/internal/certs/certstest"
)

// Certs are PEM files for a test's TLS: a CA, a server certificate it
// signed for 127.0.0.1, ::1 and localhost, and a client certificate it
// signed. Keys are PKCS#8 ("BEGIN PRIVATE KEY"), which Kafka's PEM key
// stores require, and unencrypted.
type Certs struct {
	// CAFile holds the CA's certificate, the trust store of either side.
	CAFile string
	// ServerCertFile and ServerKeyFile are the server's certificate and key.
	ServerCertFile, ServerKeyFile string
	// ServerChainFile holds the server's certificate and then the CA's, as
	// Kafka's PEM key store takes a chain.
	ServerChainFile string
	// ClientCertFile and ClientKeyFile are a client's certificate (common
	// name "krest-client") and key, for mutual TLS.
	ClientCertFile, ClientKeyFile string

	// CA is the CA's certificate, parsed.
	CA *x509.Certificate
}

// NewCerts writes a fresh CA and certificates into a temporary directory
// that t.Cleanup removes. The certificates are valid from an hour ago for a
// day.
func NewCerts(t testing.TB) *Certs {
	t.Helper()
	dir := t.TempDir()
	ca := certstest.NewCA(t)
	c := &Certs{CA: ca.Cert, CAFile: filepath.Join(dir, "ca.pem")}
	certstest.WriteFile(t, c.CAFile, ca.PEM)
	server := ca.Issue(t, "localhost")
	c.ServerCertFile, c.ServerKeyFile = server.WriteFiles(t, dir, "server")
	c.ClientCertFile, c.ClientKeyFile = ca.Issue(t, "krest-client").WriteFiles(t, dir, "client")
	c.ServerChainFile = filepath.Join(dir, "server-chain.pem")
	certstest.WriteFile(t, c.ServerChainFile, append(append([]byte(nil), server.CertPEM...), ca.PEM...))
	return c
}

// ServerTLS returns a server configuration with the server certificate
// that, when clientAuth asks for it, verifies client certificates against
// the CA.
func (c *Certs) ServerTLS(t testing.TB, clientAuth tls.ClientAuthType) *tls.Config {
	t.Helper()
	pair, err := tls.LoadX509KeyPair(c.ServerCertFile, c.ServerKeyFile)
	if err != nil {
		t.Fatalf("kafkatest: %v", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(c.CA)
	return &tls.Config{Certificates: []tls.Certificate{pair}, ClientAuth: clientAuth, ClientCAs: pool, MinVersion: tls.VersionTLS12}
}

// ClientTLS returns a client configuration that trusts the CA.
func (c *Certs) ClientTLS() *tls.Config {
	pool := x509.NewCertPool()
	pool.AddCert(c.CA)
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
}
