package identity

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"

	"krest/internal/auth"
	"krest/internal/kafka"
)

// TestParseMap parses good and bad map files.
func TestParseMap(t *testing.T) {
	for _, tt := range []struct {
		name, file string
		want       string // an error it contains; "" for none
	}{
		{name: "each mechanism", file: `identities:
  - principal: User:CN=reports,O=Example
    mechanism: SCRAM-SHA-512
    user: reports
    password_file: reports.password
  - principal: Group:ops
    mechanism: PLAIN
    user: ops
    password_file: /abs/ops.password
  - principal: User:*
    mechanism: OAUTHBEARER
    token_file: anyone.jwt
`},
		{name: "empty", file: "identities: []\n"},
		{name: "unknown field", file: "identities:\n  - principal: User:a\n    mechanism: PLAIN\n    user: a\n    password: x\n",
			want: `identity 1 (line 2): yaml: construct errors:`},
		{name: "unknown top-level field", file: "users: []\n", want: "field users not found"},
		{name: "bad principal", file: "identities:\n  - principal: alice\n    mechanism: PLAIN\n    user: a\n    password_file: p\n",
			want: `identity 1 (line 2): principal "alice": want User:<name>, Group:<name> or User:*`},
		{name: "group wildcard", file: "identities:\n  - principal: Group:*\n    mechanism: PLAIN\n    user: a\n    password_file: p\n",
			want: "the wildcard is User:*"},
		{name: "unknown mechanism", file: "identities:\n  - principal: User:a\n    mechanism: GSSAPI\n    user: a\n    password_file: p\n",
			want: `mechanism "GSSAPI": want PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER`},
		{name: "no user", file: "identities:\n  - principal: User:a\n    mechanism: SCRAM-SHA-256\n    password_file: p\n",
			want: "mechanism SCRAM-SHA-256 needs a user"},
		{name: "no password", file: "identities:\n  - principal: User:a\n    mechanism: PLAIN\n    user: a\n",
			want: "mechanism PLAIN needs a password_file"},
		{name: "a token for SCRAM", file: "identities:\n  - principal: User:a\n    mechanism: SCRAM-SHA-512\n    user: a\n    password_file: p\n    token_file: t\n",
			want: "takes a password_file, not a token_file"},
		{name: "a password for OAUTHBEARER", file: "identities:\n  - principal: User:a\n    mechanism: OAUTHBEARER\n    token_file: t\n    password_file: p\n",
			want: "takes a token_file, not a user or password_file"},
		{name: "repeated principal", file: "identities:\n  - principal: User:a\n    mechanism: OAUTHBEARER\n    token_file: t\n  - principal: User:a\n    mechanism: OAUTHBEARER\n    token_file: u\n",
			want: "identity 2 (line 5): principal User:a is mapped by identity 1 (line 2) already"},
		{name: "two documents", file: "identities: []\n---\nidentities: []\n", want: "yaml"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			entries, err := parseMap([]byte(tt.file), "/etc/krest")
			switch {
			case tt.want == "" && err != nil:
				t.Fatal(err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			}
			if tt.name == "each mechanism" {
				if entries[0].secretFile != "/etc/krest/reports.password" || entries[1].secretFile != "/abs/ops.password" {
					t.Errorf("secret files %s, %s", entries[0].secretFile, entries[1].secretFile)
				}
			}
		})
	}
}

// TestMapped maps a client certificate's principal and a group to Kafka
// logins, acts as each, and follows the files: a new password makes a new
// client, and a broken map keeps the last good one.
func TestMapped(t *testing.T) {
	e := newEnv(t)
	e.createTopics(t, "reports", "ops")
	e.setSCRAM(t, "reports", "reports-pw")
	e.allow(t, "User:reports", false, []string{"reports"}, kadm.OpWrite)
	e.allow(t, "User:bob", false, []string{"ops"}, kadm.OpWrite)
	dir := t.TempDir()
	writeFile(t, dir, "reports.password", "reports-pw\n")
	writeFile(t, dir, "bob.password", "bob-pw")
	mapFile := writeFile(t, dir, "map.yaml", `identities:
  - principal: User:CN=reports
    mechanism: SCRAM-SHA-512
    user: reports
    password_file: reports.password
  - principal: Group:ops
    mechanism: SCRAM-SHA-512
    user: bob
    password_file: bob.password
`)
	m := &counts{}
	opts := e.options(ModeMapped, m)
	opts.MapFile = mapFile
	p := newPool(t, opts)
	reports := auth.Principal{Name: "User:CN=reports", Method: auth.MethodMTLS}

	prod, _, err := p.For(t.Context(), reports)
	if err != nil {
		t.Fatal(err)
	}
	if err := write(t, prod, "reports"); err != nil {
		t.Errorf("producing as reports: %v", err)
	}
	if err := write(t, prod, "ops"); !errors.Is(err, kafka.ErrNotAuthorized) {
		t.Errorf("reports producing to ops: %v", err)
	}
	// Mapped, a Basic principal's own credentials are not used: carol, in
	// ops, acts as bob.
	carol := e.principal(t, "carol")
	carol.Groups = []string{"Group:ops"}
	ops, _, err := p.For(t.Context(), carol)
	if err != nil {
		t.Fatal(err)
	}
	if err := write(t, ops, "ops"); err != nil {
		t.Errorf("carol as bob producing to ops: %v", err)
	}
	if _, _, err := p.For(t.Context(), e.principal(t, "alice")); !errors.Is(err, ErrNoIdentity) || !strings.Contains(err.Error(), "names no Kafka login for it") {
		t.Errorf("an unmapped principal: %v", err)
	}

	// A new password, in Kafka and in its file.
	e.setSCRAM(t, "reports", "new-pw")
	writeFile(t, dir, "reports.password", "new-pw")
	if err := p.Reload(); err != nil {
		t.Fatal(err)
	}
	after, _, err := p.For(t.Context(), reports)
	if err != nil {
		t.Fatal(err)
	}
	if after == prod {
		t.Error("a new password kept the old client")
	}
	if err := write(t, after, "reports"); err != nil {
		t.Errorf("producing with the new password: %v", err)
	}

	// A broken map is refused, and the last good one stays.
	writeFile(t, dir, "map.yaml", "identities:\n  - principal: nobody\n")
	if err := p.Reload(); err == nil {
		t.Error("a broken map loaded")
	}
	if again, _, err := p.For(t.Context(), reports); err != nil || again != after {
		t.Errorf("after a broken map: %v", err)
	}
	// A map naming a missing secret is refused too.
	writeFile(t, dir, "map.yaml", "identities:\n  - principal: User:x\n    mechanism: OAUTHBEARER\n    token_file: missing.jwt\n")
	if err := p.Reload(); err == nil {
		t.Error("a map with a missing token file loaded")
	}
	if again, _, err := p.For(t.Context(), reports); err != nil || again != after {
		t.Errorf("after a map with a missing secret: %v", err)
	}
	// And a good one replaces it: reports is no longer mapped.
	writeFile(t, dir, "map.yaml", "identities:\n  - principal: Group:ops\n    mechanism: SCRAM-SHA-512\n    user: bob\n    password_file: bob.password\n")
	if err := p.Reload(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := p.For(t.Context(), reports); !errors.Is(err, ErrNoIdentity) {
		t.Errorf("reports after the map dropped it: %v", err)
	}
}

// TestPassthroughMapsCertificates maps, under passthrough, the principals
// with no credentials of their own, and passes the others' on.
func TestPassthroughMapsCertificates(t *testing.T) {
	e := newEnv(t)
	e.createTopics(t, "a")
	e.allow(t, "User:bob", false, []string{"a"}, kadm.OpWrite)
	dir := t.TempDir()
	writeFile(t, dir, "bob.password", "bob-pw\n")
	opts := e.options(ModePassthrough, &counts{})
	opts.MapFile = writeFile(t, dir, "map.yaml", "identities:\n  - principal: User:CN=svc\n    mechanism: SCRAM-SHA-512\n    user: bob\n    password_file: "+filepath.Join(dir, "bob.password")+"\n")
	p := newPool(t, opts)
	svc, _, err := p.For(t.Context(), auth.Principal{Name: "User:CN=svc", Method: auth.MethodMTLS})
	if err != nil {
		t.Fatal(err)
	}
	if err := write(t, svc, "a"); err != nil {
		t.Errorf("the certificate's principal as bob: %v", err)
	}
	alice, _, err := p.For(t.Context(), e.principal(t, "alice"))
	if err != nil {
		t.Fatal(err)
	}
	if err := write(t, alice, "a"); !errors.Is(err, kafka.ErrNotAuthorized) {
		t.Errorf("alice, her own login, producing to a: %v", err)
	}
}
