package certs

import (
	"crypto/tls"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"krest/internal/certs/certstest"
)

// serveTLS accepts connections on a loopback listener with cfg and
// completes their handshakes until the test ends.
func serveTLS(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				_ = c.(*tls.Conn).Handshake()
				c.Close()
			}()
		}
	}()
	return ln.Addr().String()
}

// TestServerRotation serves a certificate, rotates its files, and checks
// the next handshake gets the new one on the same listener; a bad
// rotation keeps the old one.
func TestServerRotation(t *testing.T) {
	ca := certstest.NewCA(t)
	dir := t.TempDir()
	one := ca.Issue(t, "one")
	certFile, keyFile := one.WriteFiles(t, dir, "server")
	s, err := NewServer(ServerOptions{CertFile: certFile, KeyFile: keyFile, ReloadInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	addr := serveTLS(t, s.Config())
	servedCN := func() string {
		t.Helper()
		c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: ca.Pool()})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0].Subject.CommonName
	}
	if cn := servedCN(); cn != "one" {
		t.Fatalf("served %q", cn)
	}
	ca.Issue(t, "two").WriteFiles(t, dir, "server")
	if err := s.watch.Check(); err != nil {
		t.Fatal(err)
	}
	if cn := servedCN(); cn != "two" {
		t.Errorf("after rotation served %q", cn)
	}
	certstest.WriteFile(t, keyFile, one.KeyPEM) // not the key of two
	if err := s.watch.Check(); err == nil || s.Err() == nil {
		t.Fatal("a mismatched key was loaded")
	}
	if cn := servedCN(); cn != "two" {
		t.Errorf("after a bad rotation served %q", cn)
	}
}

// TestServerClientAuth checks each client certificate policy with a
// client that has a certificate from the CA, one with none, and one from
// another CA.
func TestServerClientAuth(t *testing.T) {
	ca, other := certstest.NewCA(t), certstest.NewCA(t)
	dir := t.TempDir()
	certFile, keyFile := ca.Issue(t, "server").WriteFiles(t, dir, "server")
	caFile := filepath.Join(dir, "ca.pem")
	certstest.WriteFile(t, caFile, ca.PEM)
	client := func(from *certstest.CA) []tls.Certificate {
		if from == nil {
			return nil
		}
		return []tls.Certificate{from.Issue(t, "client").TLS(t)}
	}
	for _, tt := range []struct {
		auth            string
		good, none, bad bool // whether each client gets through
	}{
		{ClientAuthNone, true, true, true},
		{ClientAuthRequest, true, true, false},
		{ClientAuthRequire, true, false, false},
	} {
		t.Run(tt.auth, func(t *testing.T) {
			s, err := NewServer(ServerOptions{CertFile: certFile, KeyFile: keyFile, ClientCAFile: caFile, ClientAuth: tt.auth, ReloadInterval: -1})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(s.Close)
			addr := serveTLS(t, s.Config())
			for _, cl := range []struct {
				name string
				from *certstest.CA
				want bool
			}{{"good", ca, tt.good}, {"none", nil, tt.none}, {"other CA", other, tt.bad}} {
				conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: ca.Pool(), Certificates: client(cl.from)})
				if err == nil {
					// TLS 1.3 reports a refused client certificate at the
					// first read.
					_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
					_, err = conn.Read(make([]byte, 1))
					if errors.Is(err, os.ErrDeadlineExceeded) || err != nil && err.Error() == "EOF" {
						err = nil
					}
					conn.Close()
				}
				if (err == nil) != cl.want {
					t.Errorf("client %s: err %v, want through %v", cl.name, err, cl.want)
				}
			}
		})
	}
}

// TestNewServerRefuses checks the settings that cannot work.
func TestNewServerRefuses(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		name string
		opts ServerOptions
	}{
		{"no files", ServerOptions{}},
		{"missing files", ServerOptions{CertFile: filepath.Join(dir, "c"), KeyFile: filepath.Join(dir, "k")}},
		{"client auth without a CA", ServerOptions{CertFile: "c", KeyFile: "k", ClientAuth: ClientAuthRequire}},
		{"unknown client auth", ServerOptions{CertFile: "c", KeyFile: "k", ClientAuth: "maybe"}},
		{"TLS 1.1", ServerOptions{CertFile: "c", KeyFile: "k", MinVersion: "1.1"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewServer(tt.opts); err == nil {
				t.Error("accepted")
			}
		})
	}
}
