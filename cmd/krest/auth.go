package main

import (
	"context"
	"log/slog"
	"slices"

	"krest/internal/api"
	"krest/internal/auth"
	"krest/internal/config"
)

// principalLabels is how many principals keep a metrics label of their
// own; the others count as "other".
const principalLabels = 100

// httpSecurity builds the checks of the API's frame from the settings:
// the ways callers log in, the authorization policy and the rate limit.
// closeAll closes what it started (the files' watchers).
func httpSecurity(ctx context.Context, cfg config.Config, logger *slog.Logger) (sec api.Security, closeAll func(), err error) {
	var closers []func() error
	closeAll = func() {
		for _, c := range closers {
			_ = c()
		}
	}
	defer func() {
		if err != nil {
			closeAll()
		}
	}()
	methods := cfg.AuthMethods()
	sec.OpenMetrics, sec.AllowedOrigins = cfg.AuthOpenMetrics, cfg.Origins()
	if slices.Contains(methods, config.AuthBasic) {
		basic, err := auth.NewBasic(auth.BasicOptions{File: cfg.AuthBasicUsersFile, Logger: logger})
		if err != nil {
			return sec, closeAll, err
		}
		closers = append(closers, basic.Close)
		sec.Basic = basic
	}
	if slices.Contains(methods, config.AuthBearer) {
		bearer, err := auth.NewBearer(ctx, auth.BearerOptions{Issuer: cfg.AuthJWTIssuer, JWKSURL: cfg.AuthJWTJWKSURL,
			Audience: cfg.AuthJWTAudience, Algorithms: cfg.JWTAlgorithms(), PrincipalClaim: cfg.AuthJWTPrincipalClaim,
			GroupsClaim: cfg.AuthJWTGroupsClaim, ClockSkew: cfg.AuthJWTClockSkew, Logger: logger})
		if err != nil {
			return sec, closeAll, err
		}
		sec.Bearer = bearer
	}
	if slices.Contains(methods, config.AuthMTLS) {
		source := cfg.AuthMTLSPrincipal
		if cfg.AuthMTLSRules != "" && source == auth.SourceCN {
			source = auth.SourceDN // the rules map the DN, as Kafka's do
		}
		mtls, err := auth.NewMTLS(auth.MTLSOptions{Source: source, Rules: cfg.AuthMTLSRules})
		if err != nil {
			return sec, closeAll, err
		}
		sec.MTLS = mtls
	}
	if cfg.AuthzFile != "" && cfg.LocalAuthz() {
		az, err := auth.NewAuthorizer(auth.AuthorizerOptions{File: cfg.AuthzFile, Logger: logger})
		if err != nil {
			return sec, closeAll, err
		}
		closers = append(closers, az.Close)
		sec.Authorizer = az
	}
	if cfg.RateLimit > 0 {
		lim, err := auth.NewLimiter(auth.LimiterOptions{Rate: cfg.RateLimit, Burst: cfg.RateBurst})
		if err != nil {
			return sec, closeAll, err
		}
		sec.Limiter = lim
	}
	if len(methods) > 0 {
		if sec.Labeler, err = auth.NewLabeler(principalLabels); err != nil {
			return sec, closeAll, err
		}
	}
	if len(methods) == 0 && cfg.APIReachable() {
		logger.Warn("NO AUTHENTICATION: anyone who reaches " + cfg.HTTPAddr + " may read, write and delete every topic; " +
			"set KREST_AUTH (basic, bearer, mtls) and KREST_AUTHZ_FILE, or listen on loopback")
	}
	if len(methods) > 0 && cfg.AuthzFile == "" {
		logger.Warn("callers log in but no authorization file is set: every principal may do everything (KREST_AUTHZ_FILE)")
	}
	return sec, closeAll, nil
}
