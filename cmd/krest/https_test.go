package main

import (
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"krest/internal/certs/certstest"
	"krest/internal/kafkatest"
)

// TestHTTPS serves the API over HTTPS with client certificates required
// and health and metrics on the management listener: a client with a
// certificate from the CA produces, one without is refused in the
// handshake, a rotated certificate is served on the same listener without
// a restart, and the management routes are off the API.
func TestHTTPS(t *testing.T) {
	c := kafkatest.NewCluster(t)
	ca := certstest.NewCA(t)
	dir := t.TempDir()
	certFile, keyFile := ca.Issue(t, "krest-one").WriteFiles(t, dir, "server")
	caFile := filepath.Join(dir, "clients.pem")
	certstest.WriteFile(t, caFile, ca.PEM)
	mgmt := fmt.Sprintf("127.0.0.1:%d", kafkatest.FreePort(t))
	k := startKrest(t, "--brokers", strings.Join(c.Brokers(), ","), "--consumer=false", "--mgmt-addr", mgmt,
		"--tls-cert", certFile, "--tls-key", keyFile, "--tls-client-ca", caFile, "--tls-client-auth", "require")
	api := strings.Replace(k.url, "http://", "https://", 1)

	client := func(withCert bool) *http.Client {
		cfg := &tls.Config{RootCAs: ca.Pool()}
		if withCert {
			cfg.Certificates = []tls.Certificate{ca.Issue(t, "client").TLS(t)}
		}
		return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}}
	}
	get := func(cl *http.Client, url string) (int, *http.Response, error) {
		resp, err := cl.Get(url)
		if err != nil {
			return 0, nil, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, resp, nil
	}
	kafkatest.WaitFor(t, 30*time.Second, func() error {
		if code, _, err := get(http.DefaultClient, "http://"+mgmt+"/readyz"); err != nil || code != http.StatusOK {
			return fmt.Errorf("management readyz: %d %v", code, err)
		}
		return nil
	})

	good := client(true)
	resp, err := good.Post(api+"/api/messages", "application/json", strings.NewReader(`{"id":"tls","content":"over HTTPS"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("produce over HTTPS: %d", resp.StatusCode)
	}
	if _, _, err := get(client(false), api+"/openapi.json"); err == nil {
		t.Error("a client without a certificate got through")
	}
	if code, _, _ := get(good, api+"/metrics"); code != http.StatusNotFound {
		t.Errorf("API /metrics with a management listener: %d, want 404", code)
	}
	for _, path := range []string{"/healthz", "/metrics", "/debug/pprof/"} {
		if code, _, err := get(http.DefaultClient, "http://"+mgmt+path); err != nil || code != http.StatusOK {
			t.Errorf("management %s: %d %v", path, code, err)
		}
	}

	// Rotate: the files change under the listener.
	ca.Issue(t, "krest-two").WriteFiles(t, dir, "server")
	kafkatest.WaitFor(t, 30*time.Second, func() error {
		_, resp, err := get(client(true), api+"/openapi.json") // a new connection: a new handshake
		if err != nil {
			return err
		}
		if cn := resp.TLS.PeerCertificates[0].Subject.CommonName; cn != "krest-two" {
			return fmt.Errorf("serving %s", cn)
		}
		return nil
	})
}
