package main

import (
	"log/slog"

	"krest/internal/admin"
	"krest/internal/config"
	"krest/internal/identity"
	"krest/internal/kafka"
	"krest/internal/metrics"
)

// newIdentities returns the pool of callers' own Kafka logins that
// KREST_KAFKA_IDENTITY asks for, or nil for service, where every request
// acts as krest. Each caller's client reaches brokers as krest's do, with
// their TLS (security) and its own SASL login, and its producer and admin
// are bounded as krest's own, with the smaller buffers of the identity
// settings. The pool's clients have no kprom hooks: their metrics would be
// one series set per caller.
func newIdentities(cfg config.Config, brokers []string, security *kafka.Security, kafkaLogger *slog.Logger,
	m *metrics.Metrics, logger *slog.Logger) (*identity.Pool, error) {
	if cfg.KafkaIdentity != identity.ModePassthrough && cfg.KafkaIdentity != identity.ModeMapped {
		return nil, nil
	}
	return identity.New(identity.Options{
		Mode: cfg.KafkaIdentity, Mechanism: cfg.KafkaIdentityMechanism, MapFile: cfg.KafkaIdentityMapFile,
		Kafka: kafka.Options{Brokers: brokers, ClientID: cfg.ClientID, Logger: kafkaLogger.With("client", "identity"),
			Security: security},
		MaxBufferedRecords: cfg.KafkaIdentityMaxBufferedRecords, MaxBufferedBytes: cfg.KafkaIdentityMaxBufferedBytes,
		Linger: cfg.Linger, Compression: cfg.Compression, AutoCreateTopics: cfg.AutoCreateTopics,
		ProduceTimeout: cfg.ProduceTimeout, ProduceMetrics: m,
		Admin: []admin.Opt{admin.MaxRequestPartitions(cfg.MaxRequestPartitions), admin.MaxListItems(cfg.MaxListItems)},
		Size:  cfg.KafkaIdentityPoolSize, IdleTimeout: cfg.KafkaIdentityIdleTimeout,
		LoginTimeout: cfg.ProduceTimeout, CloseTimeout: cfg.ProduceTimeout,
		Metrics: m, Logger: logger,
	})
}
