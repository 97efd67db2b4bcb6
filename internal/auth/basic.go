package auth

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/sync/singleflight"
	"golang.org/x/time/rate"

	"krest/internal/watch"
)

// BasicOptions configure NewBasic. Zero fields take the defaults stated.
type BasicOptions struct {
	// File is the users file: a "user:bcrypt-hash" line per user, as
	// `htpasswd -B` writes it ($2y$, $2a$ or $2b$ hashes); blank lines and
	// lines starting with # are ignored. Required.
	File string
	// ReloadInterval is how often File is polled for changes. Default
	// watch.DefaultInterval; negative: never (call Reload).
	ReloadInterval time.Duration
	// CacheTTL is how long a verified user and password are remembered,
	// so that a client's every request does not cost a bcrypt check.
	// Default 5 minutes; negative: no cache.
	CacheTTL time.Duration
	// CacheSize is how many verified credentials are remembered at most;
	// the least recently used are forgotten first. Default 10,000.
	CacheSize int
	// MaxChecks is how many bcrypt checks may run at once; past it,
	// Authenticate fails at once with ErrBusy. Default 2×GOMAXPROCS.
	MaxChecks int
	// FailureBurst is how many failed logins a client address may make in
	// a row before it is throttled. Default 10.
	FailureBurst int
	// FailureInterval is, once a client address has used its burst, how
	// long it waits for each further attempt. Default 6 s (10 a minute).
	FailureInterval time.Duration
	// MaxClients is how many client addresses' failures are counted at
	// most; the least recently seen are forgotten first. Default 10,000.
	MaxClients int
	// Logger receives the reloads and their errors. Default: discard.
	Logger *slog.Logger
}

func (o BasicOptions) withDefaults() BasicOptions {
	if o.ReloadInterval == 0 {
		o.ReloadInterval = watch.DefaultInterval
	}
	if o.CacheTTL == 0 {
		o.CacheTTL = 5 * time.Minute
	}
	if o.CacheSize == 0 {
		o.CacheSize = 10_000
	}
	if o.MaxChecks == 0 {
		o.MaxChecks = 2 * runtime.GOMAXPROCS(0)
	}
	if o.FailureBurst == 0 {
		o.FailureBurst = 10
	}
	if o.FailureInterval == 0 {
		o.FailureInterval = 6 * time.Second
	}
	if o.MaxClients == 0 {
		o.MaxClients = 10_000
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

func (o BasicOptions) validate() error {
	switch {
	case o.File == "":
		return fmt.Errorf("basic authentication needs a users file")
	case o.CacheSize < 0, o.MaxChecks < 0, o.FailureBurst < 0, o.MaxClients < 0:
		return fmt.Errorf("basic authentication's cache size, check, failure and client limits must not be negative")
	case o.FailureInterval < 0:
		return fmt.Errorf("basic authentication's failure interval must not be negative")
	}
	return nil
}

// Basic checks HTTP Basic credentials against a users file of bcrypt
// hashes, as htpasswd writes it. It is safe for concurrent use.
//
// A user that does not exist costs the same bcrypt check as one that does,
// against a dummy hash of the file's usual cost, so the time taken does
// not tell an attacker which user names exist. Verified credentials are
// remembered for a while, keyed by an HMAC of user and password under a
// key drawn for this process, never by the password itself, and forgotten
// when the file changes. Failed logins are counted per client address and
// throttled past a burst.
type Basic struct {
	opts  BasicOptions
	watch *watch.Watcher
	key   [32]byte // the cache's HMAC key
	sem   chan struct{}

	// compare is bcrypt.CompareHashAndPassword; tests count its calls.
	compare func(hash, password []byte) error
	now     func() time.Time
	flight  singleflight.Group

	mu    sync.Mutex // guards users' swaps, gen and cache
	users atomic.Pointer[userSet]
	gen   uint64
	cache *lru[[32]byte, cached]

	dummyMu sync.Mutex
	dummies map[int][]byte // dummy hash by cost

	failMu sync.Mutex
	fails  *lru[string, *rate.Limiter]
}

// userSet is one version of the users file.
type userSet struct {
	hashes map[string][]byte
	dummy  []byte // a hash of the file's most common cost
}

// cached is a remembered verification.
type cached struct {
	user    string
	gen     uint64
	expires time.Time
}

// NewBasic loads opts.File, failing with the first bad line's number if it
// cannot be used, and starts a goroutine that polls the file every
// opts.ReloadInterval until Close.
func NewBasic(opts BasicOptions) (*Basic, error) {
	opts = opts.withDefaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	b := &Basic{
		opts:    opts,
		sem:     make(chan struct{}, opts.MaxChecks),
		compare: bcrypt.CompareHashAndPassword,
		now:     time.Now,
		cache:   newLRU[[32]byte, cached](max(opts.CacheSize, 1)),
		dummies: make(map[int][]byte),
		fails:   newLRU[string, *rate.Limiter](max(opts.MaxClients, 1)),
	}
	if _, err := rand.Read(b.key[:]); err != nil {
		return nil, err
	}
	w, err := watch.New([]string{opts.File}, opts.ReloadInterval, opts.Logger, func(files [][]byte) error { return b.load(files[0]) })
	if err != nil {
		return nil, err
	}
	b.watch = w
	return b, nil
}

// load parses a version of the users file and puts it in force, forgetting
// every remembered verification.
func (b *Basic) load(data []byte) error {
	hashes, cost, err := parseUsers(data)
	if err != nil {
		return err
	}
	dummy, err := b.dummy(cost)
	if err != nil {
		return err
	}
	b.mu.Lock()
	b.users.Store(&userSet{hashes: hashes, dummy: dummy})
	b.gen++
	b.cache.clear()
	b.mu.Unlock()
	b.opts.Logger.Info("users file loaded", "file", b.opts.File, "users", len(hashes))
	return nil
}

// dummy returns a hash of a random password at cost, made once per cost.
func (b *Basic) dummy(cost int) ([]byte, error) {
	b.dummyMu.Lock()
	defer b.dummyMu.Unlock()
	if h, ok := b.dummies[cost]; ok {
		return h, nil
	}
	var pw [16]byte
	rand.Read(pw[:])
	h, err := bcrypt.GenerateFromPassword(pw[:], cost)
	if err != nil {
		return nil, err
	}
	b.dummies[cost] = h
	return h, nil
}

// Authenticate checks user and password, from the Basic credentials of a
// request from client, the caller's address (an IP, or host:port; IPv6
// addresses are counted by their /64). It returns the principal
// "User:<user>" carrying the credentials, or an error wrapping
// ErrUnauthenticated for a wrong user or password alike, or a *RetryError
// wrapping ErrTooManyFailures when client has failed too often, or ErrBusy
// when too many checks are running.
func (b *Basic) Authenticate(client, user, password string) (Principal, error) {
	cl := clientKey(client)
	if d := b.throttled(cl); d > 0 {
		return Principal{}, retryAfter(ErrTooManyFailures, d)
	}
	key := b.mac(user, password)
	p := Principal{Name: UserType + user, Method: MethodBasic, creds: &Credentials{Username: user, Password: password}}

	b.mu.Lock()
	set, gen := b.users.Load(), b.gen
	c, ok := b.cache.get(key)
	if ok && (c.gen != gen || c.user != user || !b.now().Before(c.expires)) {
		b.cache.remove(key)
		ok = false
	}
	b.mu.Unlock()
	if ok {
		return p, nil
	}

	// Identical checks running at once (a client's burst of requests with
	// new credentials) share one bcrypt check.
	_, err, _ := b.flight.Do(string(key[:]), func() (any, error) {
		return nil, b.verify(set, gen, key, user, password)
	})
	if err != nil {
		if errors.Is(err, ErrUnauthenticated) {
			b.failed(cl)
		}
		return Principal{}, err
	}
	return p, nil
}

// verify runs the bcrypt check, under the semaphore, against user's hash or
// the dummy, and remembers a success made against the current file.
func (b *Basic) verify(set *userSet, gen uint64, key [32]byte, user, password string) error {
	select {
	case b.sem <- struct{}{}:
		defer func() { <-b.sem }()
	default:
		return retryAfter(ErrBusy, time.Second)
	}
	hash, ok := set.hashes[user]
	if !ok {
		b.compare(set.dummy, []byte(password))
		return ErrUnauthenticated
	}
	if b.compare(hash, []byte(password)) != nil {
		return ErrUnauthenticated
	}
	if b.opts.CacheTTL > 0 {
		b.mu.Lock()
		if b.gen == gen {
			b.cache.add(key, cached{user: user, gen: gen, expires: b.now().Add(b.opts.CacheTTL)})
		}
		b.mu.Unlock()
	}
	return nil
}

// mac is the cache key for user and password: an HMAC-SHA256 under the
// process's key, the user's length first so that no two pairs collide.
func (b *Basic) mac(user, password string) [32]byte {
	m := hmac.New(sha256.New, b.key[:])
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(user)))
	m.Write(n[:])
	io.WriteString(m, user)
	io.WriteString(m, password)
	var k [32]byte
	m.Sum(k[:0])
	return k
}

// throttled returns how long client must wait before its next attempt, or
// zero.
func (b *Basic) throttled(client string) time.Duration {
	b.failMu.Lock()
	defer b.failMu.Unlock()
	lim, ok := b.fails.get(client)
	if !ok {
		return 0
	}
	tokens := lim.TokensAt(b.now())
	if tokens >= 1 {
		return 0
	}
	return time.Duration((1 - tokens) / float64(lim.Limit()) * float64(time.Second))
}

// failed counts a failed login from client.
func (b *Basic) failed(client string) {
	b.failMu.Lock()
	defer b.failMu.Unlock()
	lim, ok := b.fails.get(client)
	if !ok {
		lim = rate.NewLimiter(rate.Every(b.opts.FailureInterval), b.opts.FailureBurst)
		b.fails.add(client, lim)
	}
	lim.AllowN(b.now(), 1)
}

// clientKey is the address failures are counted under: the host of
// host:port, an IPv4 address, or an IPv6 address's /64, since one host
// commonly holds a whole /64.
func clientKey(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		addr = h
	}
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return addr
	}
	ip = ip.WithZone("").Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}

// Reload checks the users file now instead of waiting for the next poll,
// returning why it could not be used; the last good version stays in
// force then.
func (b *Basic) Reload() error { return b.watch.Check() }

// Err returns why the users file's current contents could not be used, or
// nil when they are in force.
func (b *Basic) Err() error { return b.watch.Err() }

// Close stops polling the users file.
func (b *Basic) Close() error {
	b.watch.Close()
	return nil
}

// bcryptAlphabet is the base-64 alphabet of a bcrypt hash's salt and
// digest.
const bcryptAlphabet = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// parseUsers parses a users file, returning the hashes by user and the most
// common cost among them. Errors name the line and, once it is known, the
// user, never the hash.
func parseUsers(data []byte) (map[string][]byte, int, error) {
	hashes := make(map[string][]byte)
	lines := make(map[string]int)
	costs := make(map[int]int)
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), len(data)+1) // a line is at most the file
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		user, hash, ok := strings.Cut(line, ":")
		if !ok {
			return nil, 0, fmt.Errorf("line %d: want user:bcrypt-hash", n)
		}
		if err := checkName(user); err != nil {
			return nil, 0, fmt.Errorf("line %d: user name %w", n, err)
		}
		if at, dup := lines[user]; dup {
			return nil, 0, fmt.Errorf("line %d: user %q is already on line %d", n, user, at)
		}
		cost, err := checkBcrypt(hash)
		if err != nil {
			return nil, 0, fmt.Errorf("line %d: user %q: %w", n, user, err)
		}
		hashes[user] = []byte(hash)
		lines[user] = n
		costs[cost]++
	}
	if err := sc.Err(); err != nil {
		return nil, 0, err
	}
	if len(hashes) == 0 {
		return nil, 0, fmt.Errorf("no users")
	}
	common := bcrypt.DefaultCost
	for c, k := range costs {
		if k > costs[common] || (k == costs[common] && c > common) {
			common = c
		}
	}
	return hashes, common, nil
}

// checkBcrypt checks that hash is a bcrypt hash as htpasswd -B writes it,
// returning its cost.
func checkBcrypt(hash string) (int, error) {
	if len(hash) != 60 || (hash[:4] != "$2a$" && hash[:4] != "$2b$" && hash[:4] != "$2y$") || hash[6] != '$' {
		return 0, fmt.Errorf("not a bcrypt hash ($2y$, $2a$ or $2b$, as htpasswd -B writes)")
	}
	for _, c := range hash[7:] {
		if !strings.ContainsRune(bcryptAlphabet, c) {
			return 0, fmt.Errorf("not a bcrypt hash: a character outside bcrypt's alphabet")
		}
	}
	cost, err := bcrypt.Cost([]byte(hash))
	if err != nil {
		return 0, fmt.Errorf("bcrypt cost out of range %d-%d", bcrypt.MinCost, bcrypt.MaxCost)
	}
	return cost, nil
}

// checkName reports whether s can name a principal: not empty, at most
// 1,024 bytes of valid UTF-8 with no control characters or surrounding
// spaces.
func checkName(s string) error {
	switch {
	case s == "":
		return fmt.Errorf("is empty")
	case len(s) > 1024:
		return fmt.Errorf("is longer than 1024 bytes")
	case strings.TrimSpace(s) != s:
		return fmt.Errorf("has surrounding spaces")
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("is not valid UTF-8")
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return fmt.Errorf("has a control character")
		}
	}
	return nil
}
