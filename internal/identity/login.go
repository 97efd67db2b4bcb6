package identity

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
	"io"
	"sync"
	"time"

	"krest/internal/auth"
	"krest/internal/kafka"
)

// login is a Kafka SASL login the pool logs a principal in with.
type login struct {
	sasl kafka.SASLOptions
	// expiry is when the login's token expires; zero when it does not.
	expiry time.Time
	// key names the login's client: an HMAC of the mechanism, user and
	// secret under the pool's own random key, so that a changed password
	// or a new token is a new client, one Kafka login shared by several
	// principals (a group's mapped login) is one client, and the secret
	// itself is in no map key.
	key [sha256.Size]byte
}

// keyer makes the keys of logins: HMAC-SHA256 under a random key of its
// own, its hashes reused (Reset keeps the key's precomputed pads).
type keyer struct{ hashes sync.Pool }

// newKeyer returns a keyer with a fresh random key.
func newKeyer() (*keyer, error) {
	key := make([]byte, sha256.Size)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	k := &keyer{}
	k.hashes.New = func() any { return hmac.New(sha256.New, key) }
	return k, nil
}

// key returns the key of a login by mechanism, user and secret, each
// length-prefixed so that no two logins share one.
func (k *keyer) key(mechanism, user, secret string) [sha256.Size]byte {
	h := k.hashes.Get().(hash.Hash)
	defer k.hashes.Put(h)
	h.Reset()
	var n [8]byte
	for _, s := range []string{mechanism, user, secret} {
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		io.WriteString(h, s)
	}
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}

// loginFor returns the login p acts with: under passthrough its own
// credentials (Basic as the pool's mechanism, a bearer token as
// OAUTHBEARER), else, and always under mapped, the map's login for it.
func (pl *Pool) loginFor(p auth.Principal, now time.Time) (login, error) {
	if pl.opts.Mode == ModePassthrough {
		switch c := p.Credentials(); {
		case c.Token != "":
			expiry := c.Expiry
			if expiry.IsZero() {
				expiry = p.Expiry
			}
			if !expiry.IsZero() && !now.Before(expiry) {
				return login{}, fmt.Errorf("%w: the bearer token of %s has expired", ErrLoginRefused, p.Name)
			}
			return login{
				sasl:   kafka.SASLOptions{Mechanism: kafka.MechanismOAuthBearer, OAuthToken: c.Token},
				expiry: expiry,
				key:    pl.keys.key(kafka.MechanismOAuthBearer, "", c.Token),
			}, nil
		case c.Username != "":
			return login{
				sasl:   kafka.SASLOptions{Mechanism: pl.opts.Mechanism, User: c.Username, Password: c.Password},
				expiry: p.Expiry,
				key:    pl.keys.key(pl.opts.Mechanism, c.Username, c.Password),
			}, nil
		}
	}
	if pl.mapping != nil {
		if l, ok := pl.mapping.lookup(p); ok {
			return l, nil
		}
		return login{}, fmt.Errorf("%w for %s: the identity map (KREST_KAFKA_IDENTITY_MAP_FILE) names no Kafka login for it, nor for any of its groups", ErrNoIdentity, p.Name)
	}
	switch p.Method {
	case auth.MethodMTLS:
		return login{}, fmt.Errorf("%w for %s: a client certificate carries no credentials to pass on to Kafka; map the principal to a Kafka login in KREST_KAFKA_IDENTITY_MAP_FILE", ErrNoIdentity, p.Name)
	case auth.MethodNone:
		return login{}, fmt.Errorf("%w for %s: krest acts at Kafka with each caller's own credentials, and this request brought none", ErrNoIdentity, p.Name)
	}
	return login{}, fmt.Errorf("%w for %s: its credentials cannot be passed on to Kafka", ErrNoIdentity, p.Name)
}
