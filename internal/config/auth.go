package config

import (
	"flag"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Ways HTTP callers log in, as Auth lists them.
const (
	AuthBasic  = "basic"
	AuthBearer = "bearer"
	AuthMTLS   = "mtls"
)

// authFlags registers the flags of the HTTP authentication settings.
func authFlags(fs *flag.FlagSet, c *Config) {
	fs.StringVar(&c.Auth, "auth", c.Auth, "how callers log in: none, or a comma list of basic, bearer and mtls (KREST_AUTH)")
	fs.StringVar(&c.AuthBasicUsersFile, "auth-basic-users-file", c.AuthBasicUsersFile, "users file of Basic logins, user:bcrypt lines as htpasswd -B writes (KREST_AUTH_BASIC_USERS_FILE)")
	fs.StringVar(&c.AuthJWTIssuer, "auth-jwt-issuer", c.AuthJWTIssuer, "OpenID Connect issuer of bearer tokens (KREST_AUTH_JWT_ISSUER)")
	fs.StringVar(&c.AuthJWTJWKSURL, "auth-jwt-jwks-url", c.AuthJWTJWKSURL, "key set of bearer tokens, instead of the issuer's discovery (KREST_AUTH_JWT_JWKS_URL)")
	fs.StringVar(&c.AuthJWTAudience, "auth-jwt-audience", c.AuthJWTAudience, "audience a bearer token must name (KREST_AUTH_JWT_AUDIENCE)")
	fs.StringVar(&c.AuthJWTPrincipalClaim, "auth-jwt-principal-claim", c.AuthJWTPrincipalClaim, "claim naming a token's principal (KREST_AUTH_JWT_PRINCIPAL_CLAIM)")
	fs.StringVar(&c.AuthJWTGroupsClaim, "auth-jwt-groups-claim", c.AuthJWTGroupsClaim, "claim listing a token's groups (KREST_AUTH_JWT_GROUPS_CLAIM)")
	fs.StringVar(&c.AuthJWTAlgorithms, "auth-jwt-algorithms", c.AuthJWTAlgorithms, "signing algorithms a token may use, a comma list; default RS*, PS*, ES* and EdDSA (KREST_AUTH_JWT_ALGORITHMS)")
	fs.DurationVar(&c.AuthJWTClockSkew, "auth-jwt-clock-skew", c.AuthJWTClockSkew, "how far krest's clock and the issuer's may be apart (KREST_AUTH_JWT_CLOCK_SKEW)")
	fs.StringVar(&c.AuthMTLSPrincipal, "auth-mtls-principal", c.AuthMTLSPrincipal, "part of a client certificate naming the principal: cn, dn, dns, email or uri (KREST_AUTH_MTLS_PRINCIPAL)")
	fs.StringVar(&c.AuthMTLSRules, "auth-mtls-rules", c.AuthMTLSRules, "rules mapping a certificate's DN to the principal, as Kafka's ssl.principal.mapping.rules (KREST_AUTH_MTLS_RULES)")
	fs.StringVar(&c.AuthzFile, "authz-file", c.AuthzFile, "authorization policy, YAML; set, what it does not allow is denied (KREST_AUTHZ_FILE)")
	fs.Float64Var(&c.RateLimit, "rate-limit", c.RateLimit, "requests per second each principal may make, 0 for no limit (KREST_RATE_LIMIT)")
	fs.IntVar(&c.RateBurst, "rate-burst", c.RateBurst, "requests a principal may make at once beyond the rate; default the rate (KREST_RATE_BURST)")
	fs.BoolVar(&c.AuthOpenMetrics, "auth-open-metrics", c.AuthOpenMetrics, "serve /metrics and the OpenAPI document without credentials (KREST_AUTH_OPEN_METRICS)")
	fs.StringVar(&c.AllowedOrigins, "allowed-origins", c.AllowedOrigins, "web origins whose browsers may make state-changing requests, a comma list (KREST_ALLOWED_ORIGINS)")
	fs.BoolVar(&c.AuthAllowPlainHTTP, "auth-allow-plain-http", c.AuthAllowPlainHTTP, "let Basic or bearer credentials cross plain HTTP beyond loopback (KREST_AUTH_ALLOW_PLAIN_HTTP)")
	fs.BoolVar(&c.RequireAuth, "require-auth", c.RequireAuth, "refuse to start without authentication beyond loopback (KREST_REQUIRE_AUTH)")
}

// AuthMethods returns the ways callers log in, none for "none".
func (c Config) AuthMethods() []string {
	if strings.TrimSpace(c.Auth) == "none" {
		return nil
	}
	return splitList(strings.ToLower(c.Auth))
}

// Origins returns AllowedOrigins as a list.
func (c Config) Origins() []string { return splitList(c.AllowedOrigins) }

// JWTAlgorithms returns AuthJWTAlgorithms as a list, nil for the default.
func (c Config) JWTAlgorithms() []string { return splitList(c.AuthJWTAlgorithms) }

// APIReachable reports whether the API listens where other machines can
// reach it: not only on loopback.
func (c Config) APIReachable() bool {
	host, _, err := net.SplitHostPort(c.HTTPAddr)
	return err != nil || !loopback(host)
}

// validateAuth reports, through bad, the authentication settings that
// cannot work.
func (c Config) validateAuth(bad func(string, ...any)) {
	methods := c.AuthMethods()
	for _, m := range methods {
		if m != AuthBasic && m != AuthBearer && m != AuthMTLS {
			bad("auth must be none or a comma list of basic, bearer and mtls, not %q", c.Auth)
			return
		}
	}
	has := func(m string) bool { return slices.Contains(methods, m) }
	if has(AuthBasic) && c.AuthBasicUsersFile == "" {
		bad("basic auth needs a users file (--auth-basic-users-file)")
	}
	if !has(AuthBasic) && c.AuthBasicUsersFile != "" {
		bad("a users file is set, but auth does not list basic")
	}
	if has(AuthBearer) {
		switch {
		case c.AuthJWTIssuer == "" && c.AuthJWTJWKSURL == "":
			bad("bearer auth needs an issuer (--auth-jwt-issuer) or a key set URL (--auth-jwt-jwks-url)")
		case c.AuthJWTAudience == "":
			bad("bearer auth needs the audience tokens must name (--auth-jwt-audience)")
		}
		for _, u := range []string{c.AuthJWTIssuer, c.AuthJWTJWKSURL} {
			if p, err := url.Parse(u); u != "" && (err != nil || p.Host == "" || (p.Scheme != "https" && !(p.Scheme == "http" && loopback(p.Hostname())))) {
				bad("token URL %q must be https (http only on a loopback address, for development)", u)
			}
		}
		if c.AuthJWTClockSkew < 0 || c.AuthJWTClockSkew > 10*time.Minute {
			bad("JWT clock skew must be from 0 to 10m, not %s", c.AuthJWTClockSkew)
		}
	}
	if has(AuthMTLS) && (c.TLSCert == "" || c.TLSClientAuth == "none") {
		bad("mtls auth needs HTTPS with client certificates (--tls-cert, --tls-key, --tls-client-ca, --tls-client-auth request or require)")
	}
	switch c.AuthMTLSPrincipal {
	case "cn", "dn", "dns", "email", "uri":
	default:
		bad("mtls principal must be cn, dn, dns, email or uri, not %q", c.AuthMTLSPrincipal)
	}
	if c.RateLimit < 0 || c.RateBurst < 0 {
		bad("rate limit and burst must not be negative")
	}
	if (has(AuthBasic) || has(AuthBearer)) && c.TLSCert == "" && c.APIReachable() && !c.AuthAllowPlainHTTP {
		bad("Basic and bearer credentials would cross plain HTTP on %s, where anyone on the way reads them: serve HTTPS (--tls-cert, --tls-key), listen on loopback, or --auth-allow-plain-http", c.HTTPAddr)
	}
	if len(methods) == 0 && c.RequireAuth && c.APIReachable() {
		bad("auth is none on %s, which other machines reach, and --require-auth is set: set --auth", c.HTTPAddr)
	}
	if c.AuthzFile != "" && len(methods) == 0 {
		bad("an authorization file needs callers who log in (--auth)")
	}
}
