package kafkatest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
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
	caKey := newKey(t)
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(t),
		Subject:               pkix.Name{CommonName: "krest test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatalf("kafkatest: CA certificate: %v", err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatalf("kafkatest: %v", err)
	}
	c := &Certs{CA: ca, CAFile: filepath.Join(dir, "ca.pem")}
	writePEM(t, c.CAFile, "CERTIFICATE", caDER)

	issue := func(name string, tmpl *x509.Certificate) (certFile, keyFile string, der []byte) {
		key := newKey(t)
		tmpl.SerialNumber = serial(t)
		tmpl.NotBefore, tmpl.NotAfter = caTmpl.NotBefore, caTmpl.NotAfter
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatalf("kafkatest: %s certificate: %v", name, err)
		}
		pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			t.Fatalf("kafkatest: %v", err)
		}
		certFile, keyFile = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem")
		writePEM(t, certFile, "CERTIFICATE", der)
		writePEM(t, keyFile, "PRIVATE KEY", pkcs8)
		return certFile, keyFile, der
	}
	var serverDER []byte
	c.ServerCertFile, c.ServerKeyFile, serverDER = issue("server", &x509.Certificate{
		Subject:     pkix.Name{CommonName: "localhost"},
		DNSNames:    []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	})
	c.ClientCertFile, c.ClientKeyFile, _ = issue("client", &x509.Certificate{
		Subject:     pkix.Name{CommonName: "krest-client"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	c.ServerChainFile = filepath.Join(dir, "server-chain.pem")
	chain := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: serverDER}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})...)
	if err := os.WriteFile(c.ServerChainFile, chain, 0o600); err != nil {
		t.Fatalf("kafkatest: %v", err)
	}
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

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("kafkatest: %v", err)
	}
	return key
}

func serial(t testing.TB) *big.Int {
	t.Helper()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		t.Fatalf("kafkatest: %v", err)
	}
	return n
}

func writePEM(t testing.TB, path, kind string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600); err != nil {
		t.Fatalf("kafkatest: %v", err)
	}
}
