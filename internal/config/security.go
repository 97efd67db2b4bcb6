package config

import (
	"flag"
	"net"
	"net/url"
	"strings"
)

// The SASL mechanisms of the settings.
const (
	mechPlain       = "PLAIN"
	mechScram256    = "SCRAM-SHA-256"
	mechScram512    = "SCRAM-SHA-512"
	mechOAuthBearer = "OAUTHBEARER"
	mechAWSMSKIAM   = "AWS_MSK_IAM"
)

// securityFlags registers the flags of the security settings on fs.
// Passwords can be flags like any setting, but flags show in process
// lists: their help points to the environment and to files.
func securityFlags(fs *flag.FlagSet, c *Config) {
	fs.BoolVar(&c.KafkaTLS, "kafka-tls", c.KafkaTLS, "connect to the brokers over TLS (KREST_KAFKA_TLS)")
	fs.StringVar(&c.KafkaTLSCAFile, "kafka-tls-ca-file", c.KafkaTLSCAFile, "PEM file of the CA certificates that sign the brokers'; default the system's (KREST_KAFKA_TLS_CA_FILE)")
	fs.StringVar(&c.KafkaTLSCertFile, "kafka-tls-cert-file", c.KafkaTLSCertFile, "PEM client certificate for mutual TLS, read again when it changes (KREST_KAFKA_TLS_CERT_FILE)")
	fs.StringVar(&c.KafkaTLSKeyFile, "kafka-tls-key-file", c.KafkaTLSKeyFile, "PEM key of the client certificate (KREST_KAFKA_TLS_KEY_FILE)")
	fs.StringVar(&c.KafkaTLSServerName, "kafka-tls-server-name", c.KafkaTLSServerName, "name the brokers' certificates must carry; default each broker's host (KREST_KAFKA_TLS_SERVER_NAME)")
	fs.BoolVar(&c.KafkaTLSInsecureSkipVerify, "kafka-tls-insecure-skip-verify", c.KafkaTLSInsecureSkipVerify, "accept any broker certificate: development only (KREST_KAFKA_TLS_INSECURE_SKIP_VERIFY)")
	fs.StringVar(&c.KafkaSASLMechanism, "kafka-sasl-mechanism", c.KafkaSASLMechanism, "SASL mechanism: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER or AWS_MSK_IAM; default none (KREST_KAFKA_SASL_MECHANISM)")
	fs.StringVar(&c.KafkaSASLUser, "kafka-sasl-user", c.KafkaSASLUser, "PLAIN or SCRAM user (KREST_KAFKA_SASL_USER)")
	fs.StringVar(&c.KafkaSASLPassword, "kafka-sasl-password", c.KafkaSASLPassword, "PLAIN or SCRAM password; prefer the environment or a password file, flags show in process lists (KREST_KAFKA_SASL_PASSWORD)")
	fs.StringVar(&c.KafkaSASLPasswordFile, "kafka-sasl-password-file", c.KafkaSASLPasswordFile, "file holding the PLAIN or SCRAM password, read at every login (KREST_KAFKA_SASL_PASSWORD_FILE)")
	fs.StringVar(&c.KafkaOAuthTokenFile, "kafka-oauth-token-file", c.KafkaOAuthTokenFile, "file holding the OAUTHBEARER token, read at every login (KREST_KAFKA_OAUTH_TOKEN_FILE)")
	fs.StringVar(&c.KafkaOAuthTokenURL, "kafka-oauth-token-url", c.KafkaOAuthTokenURL, "OAuth token endpoint of the client credentials grant, for OAUTHBEARER (KREST_KAFKA_OAUTH_TOKEN_URL)")
	fs.StringVar(&c.KafkaOAuthClientID, "kafka-oauth-client-id", c.KafkaOAuthClientID, "OAuth client ID (KREST_KAFKA_OAUTH_CLIENT_ID)")
	fs.StringVar(&c.KafkaOAuthClientSecretFile, "kafka-oauth-client-secret-file", c.KafkaOAuthClientSecretFile, "file holding the OAuth client secret, read at every grant (KREST_KAFKA_OAUTH_CLIENT_SECRET_FILE)")
	fs.StringVar(&c.KafkaOAuthScope, "kafka-oauth-scope", c.KafkaOAuthScope, "OAuth scopes to ask for, separated by spaces or commas (KREST_KAFKA_OAUTH_SCOPE)")
	fs.StringVar(&c.KafkaOAuthExtensions, "kafka-oauth-extensions", c.KafkaOAuthExtensions, "OAUTHBEARER SASL extensions, key=value,key=value (KREST_KAFKA_OAUTH_EXTENSIONS)")
	fs.StringVar(&c.EmbeddedAdvertisedAddr, "embedded-advertised-addr", c.EmbeddedAdvertisedAddr, "host:port the embedded broker tells clients to connect to; default its listen address (KREST_EMBEDDED_ADVERTISED_ADDR)")
	fs.StringVar(&c.EmbeddedSASLMechanism, "embedded-sasl-mechanism", c.EmbeddedSASLMechanism, "make the embedded broker require SASL: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (KREST_EMBEDDED_SASL_MECHANISM)")
	fs.StringVar(&c.EmbeddedSASLUser, "embedded-sasl-user", c.EmbeddedSASLUser, "the embedded broker's one user, a superuser krest logs in as (KREST_EMBEDDED_SASL_USER)")
	fs.StringVar(&c.EmbeddedSASLPassword, "embedded-sasl-password", c.EmbeddedSASLPassword, "its password; prefer the environment, flags show in process lists (KREST_EMBEDDED_SASL_PASSWORD)")
	fs.StringVar(&c.EmbeddedTLSCert, "embedded-tls-cert", c.EmbeddedTLSCert, "PEM certificate (chain) the embedded broker serves TLS with (KREST_EMBEDDED_TLS_CERT)")
	fs.StringVar(&c.EmbeddedTLSKey, "embedded-tls-key", c.EmbeddedTLSKey, "PEM key of that certificate (KREST_EMBEDDED_TLS_KEY)")
}

// loadSecurity completes the security settings after parsing: mechanism
// names in upper case, and the AWS credentials from their environment
// variables.
func (c *Config) loadSecurity(getenv func(string) string) {
	c.KafkaSASLMechanism = strings.ToUpper(strings.TrimSpace(c.KafkaSASLMechanism))
	c.EmbeddedSASLMechanism = strings.ToUpper(strings.TrimSpace(c.EmbeddedSASLMechanism))
	c.AWSAccessKeyID = getenv("AWS_ACCESS_KEY_ID")
	c.AWSSecretAccessKey = getenv("AWS_SECRET_ACCESS_KEY")
	c.AWSSessionToken = getenv("AWS_SESSION_TOKEN")
}

// OAuthScopes returns KafkaOAuthScope as a list.
func (c Config) OAuthScopes() []string {
	return strings.FieldsFunc(c.KafkaOAuthScope, func(r rune) bool { return r == ' ' || r == ',' })
}

// OAuthExtensions returns KafkaOAuthExtensions as a map, nil when none.
// Validate reports pairs without a key or "=".
func (c Config) OAuthExtensions() map[string]string {
	var m map[string]string
	for _, kv := range splitList(c.KafkaOAuthExtensions) {
		if k, v, ok := strings.Cut(kv, "="); ok && k != "" {
			if m == nil {
				m = map[string]string{}
			}
			m[k] = v
		}
	}
	return m
}

// validateSecurity reports, through bad, the security settings that cannot
// work or would have no effect. No message holds a password.
func (c Config) validateSecurity(bad func(string, ...any)) {
	set := func(names ...string) []string {
		values := map[string]bool{
			"KREST_KAFKA_TLS_CA_FILE": c.KafkaTLSCAFile != "", "KREST_KAFKA_TLS_CERT_FILE": c.KafkaTLSCertFile != "",
			"KREST_KAFKA_TLS_KEY_FILE": c.KafkaTLSKeyFile != "", "KREST_KAFKA_TLS_SERVER_NAME": c.KafkaTLSServerName != "",
			"KREST_KAFKA_TLS_INSECURE_SKIP_VERIFY": c.KafkaTLSInsecureSkipVerify,
			"KREST_KAFKA_SASL_USER":                c.KafkaSASLUser != "", "KREST_KAFKA_SASL_PASSWORD": c.KafkaSASLPassword != "",
			"KREST_KAFKA_SASL_PASSWORD_FILE": c.KafkaSASLPasswordFile != "", "KREST_KAFKA_OAUTH_TOKEN_FILE": c.KafkaOAuthTokenFile != "",
			"KREST_KAFKA_OAUTH_TOKEN_URL": c.KafkaOAuthTokenURL != "", "KREST_KAFKA_OAUTH_CLIENT_ID": c.KafkaOAuthClientID != "",
			"KREST_KAFKA_OAUTH_CLIENT_SECRET_FILE": c.KafkaOAuthClientSecretFile != "", "KREST_KAFKA_OAUTH_SCOPE": c.KafkaOAuthScope != "",
			"KREST_KAFKA_OAUTH_EXTENSIONS": c.KafkaOAuthExtensions != "",
			"KREST_EMBEDDED_SASL_USER":     c.EmbeddedSASLUser != "", "KREST_EMBEDDED_SASL_PASSWORD": c.EmbeddedSASLPassword != "",
		}
		var out []string
		for _, n := range names {
			if values[n] {
				out = append(out, n)
			}
		}
		return out
	}
	tlsSettings := []string{"KREST_KAFKA_TLS_CA_FILE", "KREST_KAFKA_TLS_CERT_FILE", "KREST_KAFKA_TLS_KEY_FILE",
		"KREST_KAFKA_TLS_SERVER_NAME", "KREST_KAFKA_TLS_INSECURE_SKIP_VERIFY"}
	passwordSettings := []string{"KREST_KAFKA_SASL_USER", "KREST_KAFKA_SASL_PASSWORD", "KREST_KAFKA_SASL_PASSWORD_FILE"}
	oauthSettings := []string{"KREST_KAFKA_OAUTH_TOKEN_FILE", "KREST_KAFKA_OAUTH_TOKEN_URL", "KREST_KAFKA_OAUTH_CLIENT_ID",
		"KREST_KAFKA_OAUTH_CLIENT_SECRET_FILE", "KREST_KAFKA_OAUTH_SCOPE", "KREST_KAFKA_OAUTH_EXTENSIONS"}

	// Security to a cluster means nothing to the embedded broker, whose
	// clients krest secures itself.
	if c.Embedded() {
		if n := append(set(append(tlsSettings, append(passwordSettings, oauthSettings...)...)...), mechanismSet(c.KafkaSASLMechanism, c.KafkaTLS)...); len(n) > 0 {
			bad("%s set without KREST_BROKERS: the Kafka security settings are for a cluster; krest logs in to its embedded broker by itself, as KREST_EMBEDDED_SASL_USER", strings.Join(n, ", "))
		}
	} else {
		if n := set(tlsSettings...); len(n) > 0 && !c.KafkaTLS {
			bad("%s set, but KREST_KAFKA_TLS is not true: set KREST_KAFKA_TLS=true (--kafka-tls) to use TLS", strings.Join(n, ", "))
		}
		if (c.KafkaTLSCertFile == "") != (c.KafkaTLSKeyFile == "") {
			bad("KREST_KAFKA_TLS_CERT_FILE and KREST_KAFKA_TLS_KEY_FILE go together: set both for mutual TLS, or neither")
		}
		c.validateSASL(bad, set, passwordSettings, oauthSettings)
	}

	switch c.EmbeddedSASLMechanism {
	case "":
		if n := set("KREST_EMBEDDED_SASL_USER", "KREST_EMBEDDED_SASL_PASSWORD"); len(n) > 0 {
			bad("%s set without KREST_EMBEDDED_SASL_MECHANISM: set it to PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", strings.Join(n, ", "))
		}
	case mechPlain, mechScram256, mechScram512:
		if c.EmbeddedSASLUser == "" || c.EmbeddedSASLPassword == "" {
			bad("embedded SASL mechanism %s needs KREST_EMBEDDED_SASL_USER and KREST_EMBEDDED_SASL_PASSWORD", c.EmbeddedSASLMechanism)
		}
	default:
		bad("embedded SASL mechanism must be PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512, not %q", c.EmbeddedSASLMechanism)
	}
	if (c.EmbeddedTLSCert == "") != (c.EmbeddedTLSKey == "") {
		bad("KREST_EMBEDDED_TLS_CERT and KREST_EMBEDDED_TLS_KEY go together: set both for TLS, or neither")
	}
	if c.EmbeddedAdvertisedAddr != "" {
		if err := validateHostPort(c.EmbeddedAdvertisedAddr); err != nil {
			bad("embedded advertised address %q: %v", c.EmbeddedAdvertisedAddr, err)
		} else if host, _, _ := net.SplitHostPort(c.EmbeddedAdvertisedAddr); host == "" {
			bad("embedded advertised address %q needs a host that clients can reach", c.EmbeddedAdvertisedAddr)
		}
	}
}

// mechanismSet names the mechanism and TLS switches that are on.
func mechanismSet(mechanism string, tls bool) []string {
	var n []string
	if mechanism != "" {
		n = append(n, "KREST_KAFKA_SASL_MECHANISM")
	}
	if tls {
		n = append(n, "KREST_KAFKA_TLS")
	}
	return n
}

// validateSASL checks the SASL settings to a cluster.
func (c Config) validateSASL(bad func(string, ...any), set func(...string) []string, passwordSettings, oauthSettings []string) {
	unused := func(names []string) {
		if n := set(names...); len(n) > 0 {
			mech := c.KafkaSASLMechanism
			if mech == "" {
				mech = "none"
			}
			bad("%s set, but the SASL mechanism (KREST_KAFKA_SASL_MECHANISM) is %s, which does not use them", strings.Join(n, ", "), mech)
		}
	}
	switch c.KafkaSASLMechanism {
	case "":
		unused(append(passwordSettings, oauthSettings...))
	case mechPlain, mechScram256, mechScram512:
		unused(oauthSettings)
		if c.KafkaSASLUser == "" {
			bad("SASL %s needs a user: set KREST_KAFKA_SASL_USER", c.KafkaSASLMechanism)
		}
		switch {
		case c.KafkaSASLPassword == "" && c.KafkaSASLPasswordFile == "":
			bad("SASL %s needs a password: set KREST_KAFKA_SASL_PASSWORD or KREST_KAFKA_SASL_PASSWORD_FILE", c.KafkaSASLMechanism)
		case c.KafkaSASLPassword != "" && c.KafkaSASLPasswordFile != "":
			bad("KREST_KAFKA_SASL_PASSWORD and KREST_KAFKA_SASL_PASSWORD_FILE are both set: set one")
		}
	case mechOAuthBearer:
		unused(passwordSettings)
		grant := set("KREST_KAFKA_OAUTH_TOKEN_URL", "KREST_KAFKA_OAUTH_CLIENT_ID", "KREST_KAFKA_OAUTH_CLIENT_SECRET_FILE", "KREST_KAFKA_OAUTH_SCOPE")
		switch {
		case c.KafkaOAuthTokenFile != "" && len(grant) > 0:
			bad("KREST_KAFKA_OAUTH_TOKEN_FILE and %s are both set: take the token from a file, or from the token URL", strings.Join(grant, ", "))
		case c.KafkaOAuthTokenFile == "" && (c.KafkaOAuthTokenURL == "" || c.KafkaOAuthClientID == "" || c.KafkaOAuthClientSecretFile == ""):
			bad("SASL OAUTHBEARER needs KREST_KAFKA_OAUTH_TOKEN_FILE, or KREST_KAFKA_OAUTH_TOKEN_URL with KREST_KAFKA_OAUTH_CLIENT_ID and KREST_KAFKA_OAUTH_CLIENT_SECRET_FILE")
		}
		if c.KafkaOAuthTokenURL != "" {
			u, err := url.Parse(c.KafkaOAuthTokenURL)
			if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
				bad("OAuth token URL %q must be an https:// (or http://) URL with a host", c.KafkaOAuthTokenURL)
			}
		}
		for _, kv := range splitList(c.KafkaOAuthExtensions) {
			if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
				bad("OAuth extension %q must be key=value", kv)
			}
		}
	case mechAWSMSKIAM:
		unused(append(passwordSettings, oauthSettings...))
		if c.AWSAccessKeyID == "" || c.AWSSecretAccessKey == "" {
			bad("SASL AWS_MSK_IAM needs the environment variables AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
		}
	default:
		bad("SASL mechanism must be PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER or AWS_MSK_IAM, not %q", c.KafkaSASLMechanism)
	}
}
