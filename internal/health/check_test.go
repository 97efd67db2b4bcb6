package health_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"krest/internal/broker"
	"krest/internal/health"
	"krest/internal/kafka"
	"krest/internal/kafkatest"
)

// TestCheck runs the readiness check on a one-broker cluster: a missing
// topic fails unless created, and a topic that exists fails only when no
// partition can take a write with acks=all, here because its
// min.insync.replicas exceeds its replicas.
func TestCheck(t *testing.T) {
	brokers := kafkatest.NewCluster(t).Brokers()
	adm := kadm.NewClient(kafkatest.NewClient(t, brokers))
	ctx := context.Background()
	for _, tt := range []struct {
		name   string
		minISR string // "" leaves the topic missing
		create bool
		want   error
		reason string
	}{
		{name: "missing", want: health.ErrTopicMissing},
		{name: "created", create: true},
		{name: "writable", minISR: "1"},
		{name: "unwritable", minISR: "2", want: health.ErrNotWritable,
			reason: "partition 0 has 1 in-sync replicas, fewer than min.insync.replicas=2"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			topic := "check-" + tt.name
			if tt.minISR != "" {
				if _, err := adm.CreateTopic(ctx, 1, 1, map[string]*string{"min.insync.replicas": &tt.minISR}, topic); err != nil {
					t.Fatal(err)
				}
			}
			// A broker may answer for a new topic only after a moment.
			kafkatest.WaitFor(t, 10*time.Second, func() error {
				err := health.Check(ctx, adm, []health.TopicSpec{{Name: topic, Partitions: 1, ReplicationFactor: 1}}, tt.create)
				if !errors.Is(err, tt.want) || err != nil && !strings.Contains(err.Error(), tt.reason) {
					return fmt.Errorf("Check: %v, want %v (%s)", err, tt.want, tt.reason)
				}
				return nil
			})
		})
	}
}

// TestCheckSecurity runs the readiness check with a login the embedded
// broker refuses, and with its certificate untrusted: the reason says so,
// not that the broker is unreachable.
func TestCheckSecurity(t *testing.T) {
	certs := kafkatest.NewCerts(t)
	b, err := broker.Start(broker.Options{Addr: fmt.Sprintf("127.0.0.1:%d", kafkatest.FreePort(t)), InMemory: true,
		SASLMechanism: kafka.MechanismScramSHA512, SASLUser: "krest", SASLPassword: "s3cret",
		TLSCertFile: certs.ServerCertFile, TLSKeyFile: certs.ServerKeyFile})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	secure := func(tls kafka.TLSOptions, password string) kafka.SecurityOptions {
		tls.Enabled = true
		return kafka.SecurityOptions{TLS: tls, SASL: kafka.SASLOptions{Mechanism: kafka.MechanismScramSHA512, User: "krest", Password: password}}
	}
	for _, tt := range []struct {
		name   string
		opts   kafka.SecurityOptions
		want   error
		reason string
	}{
		{"right password", secure(kafka.TLSOptions{CAFile: certs.CAFile}, "s3cret"), nil, ""},
		{"wrong password", secure(kafka.TLSOptions{CAFile: certs.CAFile}, "wrong"), kafka.ErrAuthentication, "SASL authentication failed: SASL_AUTHENTICATION_FAILED"},
		{"untrusted certificate", secure(kafka.TLSOptions{}, "s3cret"), nil, "TLS handshake with the brokers failed"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sec, err := kafka.NewSecurity(tt.opts, nil)
			if err != nil {
				t.Fatal(err)
			}
			cl, err := kafka.NewProducerClient(kafka.ProducerOptions{Options: kafka.Options{Brokers: b.Addrs(), Security: sec},
				MaxBufferedRecords: 1, MaxBufferedBytes: 1 << 20})
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			err = health.Check(ctx, kadm.NewClient(cl), []health.TopicSpec{{Name: "t", Partitions: 1, ReplicationFactor: 1}}, true)
			switch {
			case tt.reason == "" && err != nil:
				t.Errorf("Check: %v", err)
			case tt.reason != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.reason)):
				t.Errorf("Check: %v, want a reason starting %q", err, tt.reason)
			case tt.want != nil && !errors.Is(err, tt.want):
				t.Errorf("Check: %v, want %v", err, tt.want)
			}
		})
	}
}
