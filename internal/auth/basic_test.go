package auth

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"krest/internal/kafkatest"
)

// hashOf returns a bcrypt hash of pw at bcrypt.MinCost, with prefix ($2a$,
// $2b$ or $2y$) in place of the library's own.
func hashOf(t testing.TB, pw, prefix string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return prefix + string(h[4:])
}

// writeFile writes content to name in dir, returning its path.
func writeFile(t testing.TB, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// newBasic starts a Basic on a users file of content, closed at cleanup.
func newBasic(t testing.TB, content string, opts BasicOptions) (*Basic, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "users")
	writeFile(t, path, content)
	opts.File = path
	b, err := NewBasic(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b, path
}

func TestParseUsers(t *testing.T) {
	alice := hashOf(t, "a", "$2y$")
	bob := hashOf(t, "b", "$2a$")
	carol := hashOf(t, "c", "$2b$")
	for _, tt := range []struct {
		name    string
		file    string
		users   []string
		wantErr string // "" for none
		secret  string // must not appear in the error
	}{
		{name: "htpasswd -B", file: "alice:" + alice + "\n", users: []string{"alice"}},
		{name: "every bcrypt prefix, comments, blanks, CRLF", file: "# users\n\nalice:" + alice + "\r\n  # indented comment\nbob:" + bob + "\ncarol:" + carol, users: []string{"alice", "bob", "carol"}},
		{name: "no colon", file: "alice:" + alice + "\n" + strings.Replace(bob, "$", "", 1) + "\n", wantErr: "line 2: want user:bcrypt-hash", secret: bob[5:]},
		{name: "md5", file: "# md5\nalice:$apr1$Vt6PS7.n$3YH6LgcwEzoj9k8dVJnLP.\n", wantErr: "line 2: user \"alice\": not a bcrypt hash", secret: "3YH6LgcwEzoj9k8dVJnLP"},
		{name: "sha1", file: "alice:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n", wantErr: "line 1: user \"alice\": not a bcrypt hash", secret: "W6ph5Mm5Pz8"},
		{name: "plain text", file: "alice:hunter2\n", wantErr: "line 1: user \"alice\": not a bcrypt hash", secret: "hunter2"},
		{name: "$2x$", file: "alice:" + "$2x$" + alice[4:] + "\n", wantErr: "line 1: user \"alice\": not a bcrypt hash", secret: alice[7:]},
		{name: "truncated", file: "alice:" + alice[:59] + "\n", wantErr: "line 1: user \"alice\": not a bcrypt hash", secret: alice[7:59]},
		{name: "outside the alphabet", file: "alice:" + alice[:59] + "!\n", wantErr: "line 1: user \"alice\": not a bcrypt hash", secret: alice[7:59]},
		{name: "cost too low", file: "alice:" + alice[:4] + "03" + alice[6:] + "\n", wantErr: "line 1: user \"alice\": bcrypt cost out of range", secret: alice[7:]},
		{name: "empty user", file: ":" + alice + "\n", wantErr: "line 1: user name is empty", secret: alice[7:]},
		{name: "control character", file: "al\x01ice:" + alice + "\n", wantErr: "line 1: user name has a control character", secret: alice[7:]},
		{name: "repeated user", file: "alice:" + alice + "\n\nalice:" + bob + "\n", wantErr: `line 3: user "alice" is already on line 1`, secret: bob[7:]},
		{name: "no users", file: "# nobody yet\n", wantErr: "no users"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			hashes, _, err := parseUsers([]byte(tt.file))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if tt.secret != "" && strings.Contains(err.Error(), tt.secret) {
					t.Fatalf("err %q prints the hash", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(hashes) != len(tt.users) {
				t.Fatalf("got %d users, want %v", len(hashes), tt.users)
			}
			for _, u := range tt.users {
				if _, ok := hashes[u]; !ok {
					t.Fatalf("user %q missing", u)
				}
			}
		})
	}
}

func TestNewBasicRefusesBadFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users")
	writeFile(t, path, "alice:secret\n")
	_, err := NewBasic(BasicOptions{File: path})
	if !errors.Is(err, ErrInvalidFile) || !strings.Contains(err.Error(), "line 1") || strings.Contains(err.Error(), "secret") {
		t.Fatalf("err = %v, want ErrInvalidFile at line 1 without the hash", err)
	}
	if _, err := NewBasic(BasicOptions{File: filepath.Join(t.TempDir(), "missing")}); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: err = %v", err)
	}
	if _, err := NewBasic(BasicOptions{}); err == nil {
		t.Fatal("no file: no error")
	}
}

func TestBasicAuthenticate(t *testing.T) {
	file := "alice:" + hashOf(t, "wonderland", "$2y$") + "\nbob:" + hashOf(t, "builder", "$2b$") + "\n"
	b, _ := newBasic(t, file, BasicOptions{ReloadInterval: -1})
	for _, tt := range []struct {
		name, user, password string
		ok                   bool
	}{
		{"$2y$ hash", "alice", "wonderland", true},
		{"$2b$ hash", "bob", "builder", true},
		{"wrong password", "alice", "wonderlanD", false},
		{"another user's password", "alice", "builder", false},
		{"unknown user", "mallory", "wonderland", false},
		{"empty user", "", "", false},
		{"empty password", "alice", "", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, err := b.Authenticate("192.0.2.1", tt.user, tt.password)
			if !tt.ok {
				if !errors.Is(err, ErrUnauthenticated) {
					t.Fatalf("err = %v, want ErrUnauthenticated", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c := p.Credentials()
			if p.Name != "User:"+tt.user || p.Method != MethodBasic || c.Username != tt.user || c.Password != tt.password || p.User() != tt.user {
				t.Fatalf("principal = %#v, credentials %q/%q", p, c.Username, c.Password)
			}
		})
	}
}

// countCompare makes b count its bcrypt checks by the hash checked.
func countCompare(b *Basic) func(hash string) int {
	var mu sync.Mutex
	calls := make(map[string]int)
	b.compare = func(hash, pw []byte) error {
		mu.Lock()
		calls[string(hash)]++
		mu.Unlock()
		return bcrypt.CompareHashAndPassword(hash, pw)
	}
	return func(hash string) int {
		mu.Lock()
		defer mu.Unlock()
		return calls[hash]
	}
}

func TestBasicUnknownUserRunsBcrypt(t *testing.T) {
	h5, _ := bcrypt.GenerateFromPassword([]byte("x"), 5)
	file := "alice:" + hashOf(t, "a", "$2y$") + "\nbob:" + string(h5) + "\ncarol:" + hashOf(t, "c", "$2a$") + "\n"
	b, _ := newBasic(t, file, BasicOptions{ReloadInterval: -1, CacheTTL: -1})
	calls := countCompare(b)
	dummy := string(b.users.Load().dummy)
	if cost, err := bcrypt.Cost([]byte(dummy)); err != nil || cost != bcrypt.MinCost {
		t.Fatalf("dummy cost = %d, %v; want the file's most common, %d", cost, err, bcrypt.MinCost)
	}
	for i := 1; i <= 3; i++ {
		if _, err := b.Authenticate("192.0.2.1", fmt.Sprintf("nobody%d", i), "a"); !errors.Is(err, ErrUnauthenticated) {
			t.Fatalf("err = %v", err)
		}
		if n := calls(dummy); n != i {
			t.Fatalf("after %d unknown users, %d bcrypt checks of the dummy hash", i, n)
		}
	}
}

func TestBasicCache(t *testing.T) {
	alice := hashOf(t, "wonderland", "$2y$")
	b, _ := newBasic(t, "alice:"+alice+"\n", BasicOptions{ReloadInterval: -1, CacheTTL: time.Minute})
	calls := countCompare(b)
	now := time.Now()
	b.now = func() time.Time { return now }

	for i := 0; i < 3; i++ {
		if _, err := b.Authenticate("192.0.2.1", "alice", "wonderland"); err != nil {
			t.Fatal(err)
		}
	}
	if n := calls(alice); n != 1 {
		t.Fatalf("3 logins made %d bcrypt checks, want 1", n)
	}
	if _, err := b.Authenticate("192.0.2.1", "alice", "wonderlanD"); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("wrong password after a cached right one: err = %v", err)
	}
	if n := calls(alice); n != 2 {
		t.Fatalf("the wrong password was not checked: %d checks", n)
	}

	// The cache holds an HMAC and a user name, never the password.
	b.mu.Lock()
	for e := b.cache.order.Front(); e != nil; e = e.Next() {
		entry := e.Value.(*lruEntry[[32]byte, cached])
		if strings.Contains(string(entry.key[:]), "wonderland") || strings.Contains(fmt.Sprintf("%+v", entry.val), "wonderland") {
			t.Fatal("the cache holds the password")
		}
	}
	b.mu.Unlock()

	now = now.Add(time.Minute)
	if _, err := b.Authenticate("192.0.2.1", "alice", "wonderland"); err != nil {
		t.Fatal(err)
	}
	if n := calls(alice); n != 3 {
		t.Fatalf("an expired entry was used: %d checks, want 3", n)
	}
}

func TestBasicCacheBounded(t *testing.T) {
	file := ""
	for i := range 5 {
		file += fmt.Sprintf("u%d:%s\n", i, hashOf(t, "pw", "$2y$"))
	}
	b, _ := newBasic(t, file, BasicOptions{ReloadInterval: -1, CacheSize: 2})
	for i := range 5 {
		if _, err := b.Authenticate("192.0.2.1", fmt.Sprintf("u%d", i), "pw"); err != nil {
			t.Fatal(err)
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if n := b.cache.len(); n != 2 {
		t.Fatalf("cache holds %d, want 2", n)
	}
}

func TestBasicReload(t *testing.T) {
	b, path := newBasic(t, "alice:"+hashOf(t, "one", "$2y$")+"\n", BasicOptions{ReloadInterval: 10 * time.Millisecond})
	if _, err := b.Authenticate("192.0.2.1", "alice", "one"); err != nil {
		t.Fatal(err) // and now cached
	}

	// The same user, a new password: the same size, likely the same
	// modification time tick.
	writeFile(t, path, "alice:"+hashOf(t, "two", "$2y$")+"\n")
	kafkatest.WaitFor(t, 5*time.Second, func() error {
		_, err := b.Authenticate("192.0.2.1", "alice", "two")
		return err
	})
	if _, err := b.Authenticate("192.0.2.1", "alice", "one"); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("the old, cached password still works: %v", err)
	}

	// A bad version is reported and the last good one stays.
	writeFile(t, path, "alice:two\n")
	kafkatest.WaitFor(t, 5*time.Second, func() error {
		if err := b.Err(); !errors.Is(err, ErrInvalidFile) {
			return fmt.Errorf("Err() = %v", err)
		}
		return nil
	})
	if err := b.Err(); !strings.Contains(err.Error(), "line 1") || strings.Contains(err.Error(), ":two") {
		t.Fatalf("Err() = %v", err)
	}
	if _, err := b.Authenticate("192.0.2.1", "alice", "two"); err != nil {
		t.Fatalf("the last good file is not in force: %v", err)
	}

	// A missing file too.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := b.Reload(); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Reload() = %v", err)
	}
	if _, err := b.Authenticate("192.0.2.1", "alice", "two"); err != nil {
		t.Fatalf("the last good file is not in force: %v", err)
	}

	writeFile(t, path, "bob:"+hashOf(t, "three", "$2b$")+"\n")
	kafkatest.WaitFor(t, 5*time.Second, func() error {
		if err := b.Err(); err != nil {
			return err
		}
		_, err := b.Authenticate("192.0.2.1", "bob", "three")
		return err
	})
	if _, err := b.Authenticate("192.0.2.1", "alice", "two"); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("a removed user still logs in: %v", err)
	}
}

func TestBasicBusy(t *testing.T) {
	b, _ := newBasic(t, "alice:"+hashOf(t, "a", "$2y$")+"\n", BasicOptions{ReloadInterval: -1, MaxChecks: 1})
	entered, release := make(chan struct{}), make(chan struct{})
	b.compare = func(hash, pw []byte) error {
		close(entered)
		<-release
		return bcrypt.CompareHashAndPassword(hash, pw)
	}
	done := make(chan error)
	go func() {
		_, err := b.Authenticate("192.0.2.1", "alice", "a")
		done <- err
	}()
	<-entered
	_, err := b.Authenticate("192.0.2.2", "alice", "other")
	var re *RetryError
	if !errors.Is(err, ErrBusy) || !errors.As(err, &re) || re.RetryAfter < time.Second {
		t.Fatalf("err = %v, want ErrBusy with a Retry-After", err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	b.compare = bcrypt.CompareHashAndPassword
	if _, err := b.Authenticate("192.0.2.2", "alice", "other"); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("a busy refusal counted as the check: %v", err)
	}
}

func TestBasicFailureLimit(t *testing.T) {
	b, _ := newBasic(t, "alice:"+hashOf(t, "a", "$2y$")+"\n", BasicOptions{ReloadInterval: -1, FailureBurst: 3, FailureInterval: time.Minute, MaxClients: 4})
	now := time.Now()
	b.now = func() time.Time { return now }
	login := func(client, pw string) error {
		_, err := b.Authenticate(client, "alice", pw)
		return err
	}
	for i := range 3 {
		if err := login("192.0.2.1:4000", "wrong"); !errors.Is(err, ErrUnauthenticated) {
			t.Fatalf("failure %d: %v", i+1, err)
		}
	}
	// Throttled now, even with the right password, from any port.
	err := login("192.0.2.1:5000", "a")
	var re *RetryError
	if !errors.Is(err, ErrTooManyFailures) || !errors.As(err, &re) || re.RetryAfter < 59*time.Second || re.RetryAfter > time.Minute {
		t.Fatalf("err = %v, want ErrTooManyFailures after about a minute", err)
	}
	if err := login("192.0.2.9", "a"); err != nil {
		t.Fatalf("another client is throttled: %v", err)
	}
	now = now.Add(time.Minute)
	if err := login("192.0.2.1", "a"); err != nil {
		t.Fatalf("a minute later: %v", err)
	}

	// IPv6 addresses are counted by /64.
	for range 3 {
		login("[2001:db8:1:2::1]:443", "wrong")
	}
	if err := login("2001:db8:1:2:ffff::7", "a"); !errors.Is(err, ErrTooManyFailures) {
		t.Fatalf("same /64: %v", err)
	}
	if err := login("2001:db8:1:3::1", "a"); err != nil {
		t.Fatalf("another /64: %v", err)
	}

	// The counts are bounded.
	for i := range 10 {
		login(fmt.Sprintf("198.51.100.%d", i), "wrong")
	}
	b.failMu.Lock()
	defer b.failMu.Unlock()
	if n := b.fails.len(); n != 4 {
		t.Fatalf("%d client counts kept, want 4", n)
	}
}

func TestClientKey(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"192.0.2.1", "192.0.2.1"},
		{"192.0.2.1:8080", "192.0.2.1"},
		{"[::ffff:192.0.2.1]:80", "192.0.2.1"},
		{"2001:db8::1", "2001:db8::/64"},
		{"[fe80::1%eth0]:80", "fe80::/64"},
		{"not an address", "not an address"},
	} {
		if got := clientKey(tt.in); got != tt.want {
			t.Errorf("clientKey(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
