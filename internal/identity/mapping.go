package identity

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v4"

	"krest/internal/auth"
	"krest/internal/kafka"
	"krest/internal/watch"
)

// mapFile is the map file's shape; each entry is loaded from its node, so
// that an error in it can name it.
type mapFile struct {
	Identities []yaml.Node `yaml:"identities"`
}

type entryFile struct {
	Principal    string `yaml:"principal"`
	Mechanism    string `yaml:"mechanism"`
	User         string `yaml:"user"`
	PasswordFile string `yaml:"password_file"`
	TokenFile    string `yaml:"token_file"`
}

// entry is one principal's Kafka login, its secret in a file.
type entry struct {
	index, line int // from 1, in the file's order
	principal   string
	mechanism   string
	user        string
	secretFile  string // a password, or an OAUTHBEARER token
}

func (e *entry) String() string { return fmt.Sprintf("identity %d (line %d)", e.index, e.line) }

// parseMap parses a map file:
//
//	identities:
//	  - principal: User:CN=reports,O=Example   # or Group:ops, or User:* for anyone else
//	    mechanism: SCRAM-SHA-512                # PLAIN | SCRAM-SHA-256 | SCRAM-SHA-512 | OAUTHBEARER
//	    user: reports
//	    password_file: reports.password          # relative to the map file's directory
//	  - principal: Group:analysts
//	    mechanism: OAUTHBEARER
//	    token_file: /run/secrets/analysts.jwt
//
// Parsing is strict: an unknown field, a repeated key or principal, a
// mechanism outside the set, a password where a token belongs or the
// reverse, or more than one YAML document is an error naming the entry
// and its line. Secret files are named relative to dir unless absolute.
func parseMap(data []byte, dir string) ([]*entry, error) {
	var f mapFile
	if err := yaml.Load(data, &f, yaml.WithKnownFields()); err != nil {
		return nil, err
	}
	seen := map[string]*entry{}
	entries := make([]*entry, 0, len(f.Identities))
	for i, node := range f.Identities {
		e := &entry{index: i + 1, line: node.Line}
		var ef entryFile
		if err := node.Load(&ef, yaml.WithKnownFields()); err != nil {
			return nil, fmt.Errorf("%s: %w", e, err)
		}
		if err := e.parse(ef, dir); err != nil {
			return nil, fmt.Errorf("%s: %w", e, err)
		}
		if prev := seen[e.principal]; prev != nil {
			return nil, fmt.Errorf("%s: principal %s is mapped by %s already", e, e.principal, prev)
		}
		seen[e.principal] = e
		entries = append(entries, e)
	}
	return entries, nil
}

func (e *entry) parse(f entryFile, dir string) error {
	if err := checkPrincipal(f.Principal); err != nil {
		return fmt.Errorf("principal %q: %w", f.Principal, err)
	}
	e.principal, e.mechanism, e.user = f.Principal, f.Mechanism, f.User
	switch f.Mechanism {
	case kafka.MechanismPlain, kafka.MechanismScramSHA256, kafka.MechanismScramSHA512:
		switch {
		case f.User == "":
			return fmt.Errorf("mechanism %s needs a user", f.Mechanism)
		case f.PasswordFile == "":
			return fmt.Errorf("mechanism %s needs a password_file", f.Mechanism)
		case f.TokenFile != "":
			return fmt.Errorf("mechanism %s takes a password_file, not a token_file", f.Mechanism)
		}
		e.secretFile = f.PasswordFile
	case kafka.MechanismOAuthBearer:
		switch {
		case f.TokenFile == "":
			return fmt.Errorf("mechanism %s needs a token_file", f.Mechanism)
		case f.User != "" || f.PasswordFile != "":
			return fmt.Errorf("mechanism %s takes a token_file, not a user or password_file", f.Mechanism)
		}
		e.secretFile = f.TokenFile
	default:
		return fmt.Errorf("mechanism %q: want PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER", f.Mechanism)
	}
	if !filepath.IsAbs(e.secretFile) {
		e.secretFile = filepath.Join(dir, e.secretFile)
	}
	return nil
}

// checkPrincipal checks a principal as the map names it: "User:<name>",
// "Group:<name>" or "User:*".
func checkPrincipal(s string) error {
	name, ok := strings.CutPrefix(s, auth.UserType)
	if !ok {
		name, ok = strings.CutPrefix(s, auth.GroupType)
	}
	switch {
	case !ok:
		return fmt.Errorf("want User:<name>, Group:<name> or User:*")
	case name == "":
		return fmt.Errorf("empty name")
	case name == "*" && strings.HasPrefix(s, auth.GroupType):
		return fmt.Errorf("the wildcard is User:*")
	case strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return fmt.Errorf("a control character in the name")
	}
	return nil
}

// table is a loaded map: each principal's login, secrets read.
type table struct {
	logins map[string]login
	order  []string // the principals in the file's order
}

// mapping is the map file and the secret files it names, watched: a change
// to the map reads it and its secrets again, a change to a secret makes
// the logins that use it new ones. A load that fails keeps the last good
// table.
type mapping struct {
	path     string
	interval time.Duration
	log      *slog.Logger
	keys     *keyer

	mu      sync.Mutex
	tbl     *table
	secrets *watch.Watcher // of the current entries' secret files
	gen     int            // of secrets: a replaced watcher's loads are dropped
	files   *watch.Watcher // of the map file
}

// newMapping loads the map file at path and its secrets, failing if it
// cannot, then watches them every interval (none when negative).
func newMapping(path string, interval time.Duration, log *slog.Logger, keys *keyer) (*mapping, error) {
	m := &mapping{path: path, interval: interval, log: log, keys: keys}
	w, err := watch.New([]string{path}, interval, log, func(files [][]byte) error {
		entries, err := parseMap(files[0], filepath.Dir(path))
		if err != nil {
			return err
		}
		return m.watchSecrets(entries)
	})
	if err != nil {
		return nil, err
	}
	m.files = w
	return m, nil
}

// watchSecrets starts watching the secret files of entries, replacing the
// watcher of the previous entries once the new files are all read.
func (m *mapping) watchSecrets(entries []*entry) error {
	var paths []string
	for _, e := range entries {
		if !slices.Contains(paths, e.secretFile) {
			paths = append(paths, e.secretFile)
		}
	}
	m.mu.Lock()
	m.gen++
	gen := m.gen
	m.mu.Unlock()
	w, err := watch.New(paths, m.interval, m.log, func(files [][]byte) error {
		tbl, err := m.build(entries, paths, files)
		if err != nil {
			return err
		}
		m.mu.Lock()
		defer m.mu.Unlock()
		if gen == m.gen {
			m.tbl = tbl
		}
		return nil
	})
	m.mu.Lock()
	if err != nil {
		if m.gen == gen {
			m.gen-- // the current watcher's loads stand
		}
		m.mu.Unlock()
		return err
	}
	old := m.secrets
	m.secrets = w
	m.mu.Unlock()
	if old != nil {
		old.Close()
	}
	return nil
}

// build makes the table of entries from the contents of their secret
// files (files[i] is paths[i]'s).
func (m *mapping) build(entries []*entry, paths []string, files [][]byte) (*table, error) {
	tbl := &table{logins: make(map[string]login, len(entries))}
	for _, e := range entries {
		raw := string(files[slices.Index(paths, e.secretFile)])
		secret := strings.TrimSuffix(strings.TrimSuffix(raw, "\n"), "\r")
		l := login{sasl: kafka.SASLOptions{Mechanism: e.mechanism, User: e.user, Password: secret}}
		if e.mechanism == kafka.MechanismOAuthBearer {
			secret = strings.TrimSpace(raw)
			l.sasl = kafka.SASLOptions{Mechanism: e.mechanism, OAuthToken: secret}
		}
		if secret == "" {
			return nil, fmt.Errorf("%s: %s is empty", e, e.secretFile)
		}
		l.key = m.keys.key(e.mechanism, e.user, secret)
		tbl.logins[e.principal] = l
		tbl.order = append(tbl.order, e.principal)
	}
	return tbl, nil
}

// lookup returns p's login: its own entry's, else the first entry in the
// file naming one of its groups, else User:*'s.
func (m *mapping) lookup(p auth.Principal) (login, bool) {
	m.mu.Lock()
	tbl := m.tbl
	m.mu.Unlock()
	if l, ok := tbl.logins[p.Name]; ok {
		return l, true
	}
	for _, name := range tbl.order {
		if slices.Contains(p.Groups, name) {
			return tbl.logins[name], true
		}
	}
	l, ok := tbl.logins[auth.UserType+"*"]
	return l, ok
}

// reload checks the map file and then the secret files now.
func (m *mapping) reload() error {
	if err := m.files.Check(); err != nil {
		return err
	}
	m.mu.Lock()
	w := m.secrets
	m.mu.Unlock()
	return w.Check()
}

// close stops watching.
func (m *mapping) close() {
	m.files.Close()
	m.mu.Lock()
	w := m.secrets
	m.mu.Unlock()
	w.Close()
}
