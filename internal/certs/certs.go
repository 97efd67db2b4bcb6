// Package certs serves TLS from PEM files: a server certificate and key
// reloaded when their files change, so a rotated certificate takes effect
// without a restart, and the client certificate authorities a listener
// verifies clients against.
package certs

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"krest/internal/watch"
)

// Client certificate policies, as ServerOptions.ClientAuth names them.
const (
	ClientAuthNone    = "none"    // no client certificate is asked for
	ClientAuthRequest = "request" // one is asked for and, if given, verified
	ClientAuthRequire = "require" // a verified one is required
)

// ServerOptions configure a server's TLS.
type ServerOptions struct {
	// CertFile and KeyFile are the server's certificate (with its chain)
	// and private key, PEM.
	CertFile, KeyFile string
	// ClientCAFile holds the PEM certificates of the authorities client
	// certificates must chain to; required unless ClientAuth is none.
	ClientCAFile string
	// ClientAuth is ClientAuthNone (the default), ClientAuthRequest or
	// ClientAuthRequire.
	ClientAuth string
	// MinVersion is the lowest TLS version accepted: "1.2" (the default)
	// or "1.3".
	MinVersion string
	// ReloadInterval is how often the files are checked for changes;
	// default watch.DefaultInterval, negative never.
	ReloadInterval time.Duration
	// Logger receives reload failures.
	Logger *slog.Logger
}

// Server holds a server TLS configuration whose certificate, key and
// client authorities follow their files.
type Server struct {
	config  *tls.Config
	current atomic.Pointer[loaded]
	watch   *watch.Watcher
}

// loaded is one consistent reading of the files.
type loaded struct {
	cert *tls.Certificate
	cas  *x509.CertPool // nil without a client CA file
}

// ErrClientCARequired is returned by NewServer when client certificates
// are asked for but no authority is given to verify them against.
var ErrClientCARequired = errors.New("client certificates need a client CA file")

// NewServer loads the files, failing if they do not hold a certificate and
// its key (and, when set, client authorities), and with a positive
// ReloadInterval starts a goroutine that reloads them when they change
// until Close. A reload that fails keeps the last good files in force.
func NewServer(opts ServerOptions) (*Server, error) {
	minVersion, err := ParseVersion(opts.MinVersion)
	if err != nil {
		return nil, err
	}
	var clientAuth tls.ClientAuthType
	switch opts.ClientAuth {
	case "", ClientAuthNone:
		clientAuth = tls.NoClientCert
	case ClientAuthRequest:
		clientAuth = tls.VerifyClientCertIfGiven
	case ClientAuthRequire:
		clientAuth = tls.RequireAndVerifyClientCert
	default:
		return nil, fmt.Errorf("client auth must be none, request or require, not %q", opts.ClientAuth)
	}
	if clientAuth != tls.NoClientCert && opts.ClientCAFile == "" {
		return nil, ErrClientCARequired
	}
	if opts.CertFile == "" || opts.KeyFile == "" {
		return nil, errors.New("a TLS certificate file and key file are both required")
	}
	if opts.ReloadInterval == 0 {
		opts.ReloadInterval = watch.DefaultInterval
	}
	s := &Server{}
	paths := []string{opts.CertFile, opts.KeyFile}
	if opts.ClientCAFile != "" {
		paths = append(paths, opts.ClientCAFile)
	}
	s.watch, err = watch.New(paths, opts.ReloadInterval, opts.Logger, s.load)
	if err != nil {
		return nil, fmt.Errorf("tls: %w", err)
	}
	s.config = &tls.Config{
		MinVersion: minVersion,
		ClientAuth: clientAuth,
		// Each handshake takes the files as last loaded.
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			cur := s.current.Load()
			c := s.config.Clone()
			c.GetConfigForClient = nil
			c.Certificates = []tls.Certificate{*cur.cert}
			c.ClientCAs = cur.cas
			return c, nil
		},
	}
	return s, nil
}

// load parses the certificate and key and, when given, the client
// authorities.
func (s *Server) load(files [][]byte) error {
	cert, err := tls.X509KeyPair(files[0], files[1])
	if err != nil {
		return err
	}
	l := &loaded{cert: &cert}
	if len(files) > 2 {
		l.cas = x509.NewCertPool()
		if !l.cas.AppendCertsFromPEM(files[2]) {
			return errors.New("the client CA file holds no PEM certificate")
		}
	}
	s.current.Store(l)
	return nil
}

// Config returns the TLS configuration to serve with.
func (s *Server) Config() *tls.Config { return s.config }

// Err returns why the files' last change was not loaded, or nil.
func (s *Server) Err() error { return s.watch.Err() }

// Close stops watching the files.
func (s *Server) Close() { s.watch.Close() }

// ParseVersion parses a TLS version setting: "1.2" or "1.3" ("" is 1.2).
func ParseVersion(v string) (uint16, error) {
	switch v {
	case "", "1.2":
		return tls.VersionTLS12, nil
	case "1.3":
		return tls.VersionTLS13, nil
	}
	return 0, fmt.Errorf("TLS version must be 1.2 or 1.3, not %q", v)
}
