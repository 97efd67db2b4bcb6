package main

import (
	"krest/internal/config"
	"krest/internal/kafka"
)

// kafkaSecurity is how krest's clients secure their connections: as the
// Kafka security settings say, or, to the embedded broker, as its own
// settings make it require: they log in as its user and trust exactly its
// certificate.
func kafkaSecurity(cfg config.Config) kafka.SecurityOptions {
	if cfg.Embedded() {
		return kafka.SecurityOptions{
			TLS: kafka.TLSOptions{Enabled: cfg.EmbeddedTLSCert != "", PeerCertFile: cfg.EmbeddedTLSCert},
			SASL: kafka.SASLOptions{Mechanism: cfg.EmbeddedSASLMechanism, User: cfg.EmbeddedSASLUser,
				Password: cfg.EmbeddedSASLPassword},
		}
	}
	return kafka.SecurityOptions{
		TLS: kafka.TLSOptions{
			Enabled: cfg.KafkaTLS, CAFile: cfg.KafkaTLSCAFile, CertFile: cfg.KafkaTLSCertFile, KeyFile: cfg.KafkaTLSKeyFile,
			ServerName: cfg.KafkaTLSServerName, InsecureSkipVerify: cfg.KafkaTLSInsecureSkipVerify,
		},
		SASL: kafka.SASLOptions{
			Mechanism: cfg.KafkaSASLMechanism, User: cfg.KafkaSASLUser,
			Password: cfg.KafkaSASLPassword, PasswordFile: cfg.KafkaSASLPasswordFile,
			OAuthTokenFile: cfg.KafkaOAuthTokenFile, OAuthTokenURL: cfg.KafkaOAuthTokenURL, OAuthClientID: cfg.KafkaOAuthClientID,
			OAuthClientSecretFile: cfg.KafkaOAuthClientSecretFile, OAuthScopes: cfg.OAuthScopes(), OAuthExtensions: cfg.OAuthExtensions(),
			AWS: kafka.AWSCredentials{AccessKeyID: cfg.AWSAccessKeyID, SecretAccessKey: cfg.AWSSecretAccessKey, SessionToken: cfg.AWSSessionToken},
		},
	}
}
