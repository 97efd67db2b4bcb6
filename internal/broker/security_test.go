package broker_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"krest/internal/broker"
	"krest/internal/kafkatest"
)

// startSecure runs a broker with opts on a free loopback port, in memory
// unless opts.DataDir is set; t.Cleanup closes it.
func startSecure(t *testing.T, opts broker.Options) *broker.Broker {
	t.Helper()
	if opts.Addr == "" {
		opts.Addr = fmt.Sprintf("127.0.0.1:%d", kafkatest.FreePort(t))
	}
	opts.InMemory = opts.DataDir == ""
	b, err := broker.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

// mechanism returns franz-go's client side of a mechanism.
func mechanism(t *testing.T, name, user, pass string) sasl.Mechanism {
	t.Helper()
	m := mechanismB(name, user, pass)
	if m == nil {
		t.Fatalf("no mechanism %s", name)
	}
	return m
}

func mechanismB(name, user, pass string) sasl.Mechanism {
	switch name {
	case "PLAIN":
		return plain.Auth{User: user, Pass: pass}.AsMechanism()
	case "SCRAM-SHA-256":
		return scram.Auth{User: user, Pass: pass}.AsSha256Mechanism()
	case "SCRAM-SHA-512":
		return scram.Auth{User: user, Pass: pass}.AsSha512Mechanism()
	}
	return nil
}

// ping connects with opts and returns the error of a metadata request.
func ping(t *testing.T, b *broker.Broker, opts ...kgo.Opt) error {
	t.Helper()
	cl := kafkatest.NewClient(t, b.Addrs(), append([]kgo.Opt{kgo.RequestRetries(0)}, opts...)...)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := kadm.NewClient(cl).BrokerMetadata(ctx)
	return err
}

// TestSASL logs in with each mechanism, over TLS and without: the right
// password reads and writes; a wrong one, or an unknown user, is answered
// SASL_AUTHENTICATION_FAILED, as Kafka answers it, not with the connection
// closed; a client that does not authenticate gets nothing.
func TestSASL(t *testing.T) {
	certs := kafkatest.NewCerts(t)
	for _, tt := range []struct {
		mechanism string
		tls       bool
	}{
		{"PLAIN", false},
		{"SCRAM-SHA-256", false},
		{"SCRAM-SHA-512", false},
		{"PLAIN", true},
		{"SCRAM-SHA-512", true},
	} {
		name := tt.mechanism
		if tt.tls {
			name += "/TLS"
		}
		t.Run(name, func(t *testing.T) {
			opts := broker.Options{SASLMechanism: tt.mechanism, SASLUser: "krest", SASLPassword: "s3cret", Partitions: 1}
			var dial []kgo.Opt
			if tt.tls {
				opts.TLSCertFile, opts.TLSKeyFile = certs.ServerCertFile, certs.ServerKeyFile
				dial = append(dial, kgo.DialTLSConfig(certs.ClientTLS()))
			}
			b := startSecure(t, opts)

			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			cl := kafkatest.NewClient(t, b.Addrs(), append(dial, kgo.SASL(mechanism(t, tt.mechanism, "krest", "s3cret")),
				kgo.AllowAutoTopicCreation())...)
			if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "t", Value: []byte("v")}).FirstErr(); err != nil {
				t.Fatalf("produce with the right password: %v", err)
			}
			for _, bad := range []struct{ user, pass string }{{"krest", "wrong"}, {"nobody", "s3cret"}} {
				err := ping(t, b, append(dial, kgo.SASL(mechanism(t, tt.mechanism, bad.user, bad.pass)))...)
				if !errors.Is(err, kerr.SaslAuthenticationFailed) {
					t.Errorf("user %s, password %s: %v, want SASL_AUTHENTICATION_FAILED", bad.user, bad.pass, err)
				}
			}
			if err := ping(t, b, dial...); err == nil {
				t.Error("a client without SASL read metadata")
			}
		})
	}
}

// TestSASLHandshakeV0 checks that SaslHandshake is listed from v0, as Kafka
// lists it, and served: a client capped at v0 then sends its SASL tokens
// raw, framed by their size alone, and is in; with a wrong password it is
// not.
func TestSASLHandshakeV0(t *testing.T) {
	for _, mech := range []string{"PLAIN", "SCRAM-SHA-512"} {
		t.Run(mech, func(t *testing.T) {
			b := startSecure(t, broker.Options{SASLMechanism: mech, SASLUser: "krest", SASLPassword: "s3cret"})
			cl := kafkatest.NewClient(t, b.Addrs(), kgo.SASL(mechanism(t, mech, "krest", "s3cret")))
			resp, err := kmsg.NewPtrApiVersionsRequest().RequestWith(context.Background(), cl)
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range resp.ApiKeys {
				if k.ApiKey == kmsg.SASLHandshake.Int16() && (k.MinVersion != 0 || k.MaxVersion != 1) {
					t.Errorf("SaslHandshake listed v%d-%d, want v0-1", k.MinVersion, k.MaxVersion)
				}
			}

			v0 := kversion.Stable()
			v0.SetMaxKeyVersion(kmsg.SASLHandshake.Int16(), 0)
			if err := ping(t, b, kgo.MaxVersions(v0), kgo.SASL(mechanism(t, mech, "krest", "s3cret"))); err != nil {
				t.Errorf("SaslHandshake v0 with the right password: %v", err)
			}
			if err := ping(t, b, kgo.MaxVersions(v0), kgo.SASL(mechanism(t, mech, "krest", "wrong"))); err == nil {
				t.Error("SaslHandshake v0 with a wrong password read metadata")
			}
		})
	}
}

// TestSASLRestart restarts a persisted broker with another password, and
// one that ran without SASL with it: the password the settings name is the
// one that works.
func TestSASLRestart(t *testing.T) {
	dir := t.TempDir()
	addr := fmt.Sprintf("127.0.0.1:%d", kafkatest.FreePort(t))
	run := func(opts broker.Options) *broker.Broker {
		t.Helper()
		opts.Addr, opts.DataDir = addr, dir
		b, err := broker.Start(opts)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	b := run(broker.Options{})
	b.Close()
	for _, pass := range []string{"first", "second"} {
		b = run(broker.Options{SASLMechanism: "SCRAM-SHA-256", SASLUser: "krest", SASLPassword: pass})
		if err := ping(t, b, kgo.SASL(mechanism(t, "SCRAM-SHA-256", "krest", pass))); err != nil {
			t.Errorf("password %s after a restart: %v", pass, err)
		}
		b.Close()
	}
	b = run(broker.Options{SASLMechanism: "SCRAM-SHA-256", SASLUser: "krest", SASLPassword: "second"})
	defer b.Close()
	if err := ping(t, b, kgo.SASL(mechanism(t, "SCRAM-SHA-256", "krest", "first"))); !errors.Is(err, kerr.SaslAuthenticationFailed) {
		t.Errorf("the earlier password after a restart: %v, want SASL_AUTHENTICATION_FAILED", err)
	}
}

// TestFrameBounds announces requests past Kafka's bounds: 512 KiB before
// authentication and 100 MiB after. The broker closes the connection at
// once rather than wait for the bytes.
func TestFrameBounds(t *testing.T) {
	for _, tt := range []struct {
		name string
		sasl bool
		size uint32
	}{
		{"before authentication", true, 1 << 20},
		{"without SASL", false, 200 << 20},
	} {
		t.Run(tt.name, func(t *testing.T) {
			opts := broker.Options{}
			if tt.sasl {
				opts = broker.Options{SASLMechanism: "PLAIN", SASLUser: "krest", SASLPassword: "s3cret"}
			}
			b := startSecure(t, opts)
			c, err := net.Dial("tcp", b.Addrs()[0])
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := c.Write(binary.BigEndian.AppendUint32(nil, tt.size)); err != nil {
				t.Fatal(err)
			}
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := c.Read(make([]byte, 1)); !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !isReset(err) {
				t.Errorf("after announcing %d bytes: %v, want the connection closed", tt.size, err)
			}
		})
	}
}

func isReset(err error) bool { return err != nil && strings.Contains(err.Error(), "connection reset") }

// TestAdvertisedAddr checks that the broker's metadata names the advertised
// host, with the bound port when the advertised one is 0.
func TestAdvertisedAddr(t *testing.T) {
	b := startSecure(t, broker.Options{AdvertisedAddr: "localhost:0"})
	_, port, _ := net.SplitHostPort(b.Addrs()[0])
	cl := kafkatest.NewClient(t, []string{net.JoinHostPort("127.0.0.1", port)})
	md, err := kadm.NewClient(cl).BrokerMetadata(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := md.Brokers[0]; got.Host != "localhost" || fmt.Sprint(got.Port) != port {
		t.Errorf("metadata names %s:%d, want localhost:%s", got.Host, got.Port, port)
	}
}

// TestTLSUntrusted checks that a client that does not trust the broker's
// certificate gets no further than the handshake.
func TestTLSUntrusted(t *testing.T) {
	certs := kafkatest.NewCerts(t)
	b := startSecure(t, broker.Options{TLSCertFile: certs.ServerCertFile, TLSKeyFile: certs.ServerKeyFile})
	if err := ping(t, b, kgo.DialTLSConfig(certs.ClientTLS())); err != nil {
		t.Fatalf("trusting client: %v", err)
	}
	var verr *tls.CertificateVerificationError
	if err := ping(t, b, kgo.DialTLSConfig(&tls.Config{})); !errors.As(err, &verr) {
		t.Errorf("untrusting client: %v, want a certificate verification error", err)
	}
}

// TestKcatSASLSSL reads and writes with kcat over SASL_SSL with
// SCRAM-SHA-512. librdkafka 2.0 (Debian's kcat 1.7.1) requires SaslHandshake
// v0 listed before it authenticates.
func TestKcatSASLSSL(t *testing.T) {
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		t.Skip("kcat not installed (apt-get install kcat)")
	}
	certs := kafkatest.NewCerts(t)
	b := startSecure(t, broker.Options{SASLMechanism: "SCRAM-SHA-512", SASLUser: "krest", SASLPassword: "s3cret",
		TLSCertFile: certs.ServerCertFile, TLSKeyFile: certs.ServerKeyFile, Partitions: 1})
	args := []string{"-b", b.Addrs()[0], "-X", "security.protocol=SASL_SSL", "-X", "sasl.mechanisms=SCRAM-SHA-512",
		"-X", "sasl.username=krest", "-X", "sasl.password=s3cret", "-X", "ssl.ca.location=" + certs.CAFile}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, kcat, append(args, "-P", "-t", "secure", "-k", "k1")...)
	cmd.Stdin = strings.NewReader("hello\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kcat -P: %v\n%s", err, out)
	}
	out, err := exec.CommandContext(ctx, kcat, append(args, "-C", "-t", "secure", "-o", "beginning", "-c", "1", "-f", "%k=%s\n")...).CombinedOutput()
	if err != nil || !bytes.Equal(out, []byte("k1=hello\n")) {
		t.Fatalf("kcat -C: %v\n%s", err, out)
	}
	wrong := append(args[:len(args):len(args)], "-X", "sasl.password=wrong", "-L")
	if out, err := exec.CommandContext(ctx, kcat, wrong...).CombinedOutput(); err == nil || !bytes.Contains(out, []byte("Authentication failed")) {
		t.Errorf("kcat -L with a wrong password: %v\n%s", err, out)
	}
}

// TestSASLHandshakeMechanisms checks the SaslHandshake answers: every one
// lists the broker's one mechanism, as Kafka lists sasl.enabled.mechanisms
// (kafkajs requires it); another mechanism is refused at the handshake,
// so that a client offering several picks the broker's.
func TestSASLHandshakeMechanisms(t *testing.T) {
	b := startSecure(t, broker.Options{SASLMechanism: "SCRAM-SHA-512", SASLUser: "krest", SASLPassword: "s3cret"})
	for _, tt := range []struct {
		mechanism string
		want      error
	}{
		{"SCRAM-SHA-512", nil},
		{"PLAIN", kerr.UnsupportedSaslMechanism},
	} {
		req := kmsg.NewPtrSASLHandshakeRequest()
		req.Mechanism = tt.mechanism
		// A connection of its own: a handshake on cl's authenticated
		// one is a re-authentication.
		c, err := net.Dial("tcp", b.Addrs()[0])
		if err != nil {
			t.Fatal(err)
		}
		resp := handshake(t, c, req)
		c.Close()
		if err := kerr.ErrorForCode(resp.ErrorCode); !errors.Is(err, tt.want) || !slices.Equal(resp.SupportedMechanisms, []string{"SCRAM-SHA-512"}) {
			t.Errorf("handshake for %s: %v, mechanisms %v; want %v, [%s]", tt.mechanism, err, resp.SupportedMechanisms, tt.want, "SCRAM-SHA-512")
		}
	}
	if err := ping(t, b, kgo.SASL(mechanism(t, "PLAIN", "krest", "s3cret"), mechanism(t, "SCRAM-SHA-512", "krest", "s3cret"))); err != nil {
		t.Errorf("client offering PLAIN then SCRAM-SHA-512: %v", err)
	}
}

// handshake sends req on c and reads its answer.
func handshake(t *testing.T, c net.Conn, req *kmsg.SASLHandshakeRequest) *kmsg.SASLHandshakeResponse {
	t.Helper()
	req.Version = 1
	b := binary.BigEndian.AppendUint32(nil, 0)
	b = binary.BigEndian.AppendUint16(b, uint16(req.Key()))
	b = binary.BigEndian.AppendUint16(b, uint16(req.Version))
	b = binary.BigEndian.AppendUint32(b, 7)      // correlation ID
	b = binary.BigEndian.AppendUint16(b, 0xffff) // null client ID
	b = req.AppendTo(b)
	binary.BigEndian.PutUint32(b, uint32(len(b)-4))
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write(b); err != nil {
		t.Fatal(err)
	}
	var size [4]byte
	if _, err := io.ReadFull(c, size[:]); err != nil {
		t.Fatal(err)
	}
	body := make([]byte, binary.BigEndian.Uint32(size[:]))
	if _, err := io.ReadFull(c, body); err != nil {
		t.Fatal(err)
	}
	resp := req.ResponseKind().(*kmsg.SASLHandshakeResponse)
	if err := resp.ReadFrom(body[4:]); err != nil {
		t.Fatal(err)
	}
	return resp
}
