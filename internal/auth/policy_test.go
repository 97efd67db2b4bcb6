package auth

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"krest/internal/kafkatest"
)

const testPolicy = `
superusers: [User:admin, Group:platform]
rules:
  - principal: User:alice
    permission: allow
    resource: topic
    pattern: literal
    name: orders
    operations: [write]
  - principal: User:alice
    permission: allow
    resource: topic
    pattern: prefixed
    name: billing.
    operations: [read, alter_configs]
  - principal: User:alice
    permission: deny
    resource: topic
    pattern: literal
    name: billing.secret
    operations: [read]
  - principal: Group:ops
    permission: allow
    resource: topic
    pattern: any
    operations: [describe]
  - principal: Group:ops
    permission: deny
    resource: topic
    pattern: prefixed
    name: private.
    operations: [all]
  - principal: User:*
    permission: allow
    resource: topic
    name: public
    operations: [read]
  - principal: User:alice
    permission: allow
    resource: group
    pattern: prefixed
    name: alice-
    operations: [read]
  - principal: User:carol
    permission: allow
    resource: cluster
    operations: [create, describe_configs]
  - principal: User:dave
    permission: allow
    resource: topic
    name: "*"
    operations: [delete]
  - principal: User:dave
    permission: deny
    resource: topic
    pattern: any
    operations: [describe]
`

func TestPolicyAllow(t *testing.T) {
	pol, err := ParsePolicy([]byte(testPolicy))
	if err != nil {
		t.Fatal(err)
	}
	alice := Principal{Name: "User:alice"}
	bob := Principal{Name: "User:bob", Groups: []string{"Group:ops"}}
	for _, tt := range []struct {
		name     string
		p        Principal
		resource Resource
		resName  string
		op       Operation
		want     bool
		reason   string
	}{
		{"literal allows", alice, ResourceTopic, "orders", OpWrite, true, "rule 1 (line 4)"},
		{"literal is not a prefix", alice, ResourceTopic, "orders2", OpWrite, false, "no rule allows"},
		{"write implies describe", alice, ResourceTopic, "orders", OpDescribe, true, "rule 1"},
		{"write implies nothing else", alice, ResourceTopic, "orders", OpRead, false, "no rule allows"},
		{"prefixed allows", alice, ResourceTopic, "billing.invoices", OpRead, true, "rule 2"},
		{"prefix must match", alice, ResourceTopic, "billing", OpRead, false, "no rule allows"},
		{"alter_configs implies describe_configs", alice, ResourceTopic, "billing.x", OpDescribeConfigs, true, "rule 2"},
		{"read implies describe", alice, ResourceTopic, "billing.x", OpDescribe, true, "rule 2"},
		{"deny wins over allow", alice, ResourceTopic, "billing.secret", OpRead, false, "denied by rule 3"},
		{"a deny of read does not deny describe", alice, ResourceTopic, "billing.secret", OpDescribe, true, "rule 2"},
		{"group rule, any pattern", bob, ResourceTopic, "whatever", OpDescribe, true, "rule 4"},
		{"group deny all", bob, ResourceTopic, "private.keys", OpDescribe, false, "denied by rule 5"},
		{"group rules need the group", alice, ResourceTopic, "whatever", OpDescribe, false, "no rule allows"},
		{"wildcard principal", bob, ResourceTopic, "public", OpRead, true, "rule 6"},
		{"wildcard principal, anonymous", Anonymous, ResourceTopic, "public", OpRead, true, "rule 6"},
		{"wildcard grants only its op", bob, ResourceTopic, "public", OpWrite, false, "no rule allows"},
		{"group resource", alice, ResourceGroup, "alice-consumers", OpRead, true, "rule 7"},
		{"group read implies describe", alice, ResourceGroup, "alice-consumers", OpDescribe, true, "rule 7"},
		{"topic rules do not cover groups", alice, ResourceGroup, "orders", OpRead, false, "no rule allows"},
		{"cluster", Principal{Name: "User:carol"}, ResourceCluster, "", OpDescribeConfigs, true, "rule 8"},
		{"cluster, name ignored", Principal{Name: "User:carol"}, ResourceCluster, "kafka-cluster", OpDescribeConfigs, true, "rule 8"},
		{"cluster create creates any topic", Principal{Name: "User:carol"}, ResourceTopic, "new", OpCreate, true, "cluster create: allowed by rule 8"},
		{"cluster create is not topic write", Principal{Name: "User:carol"}, ResourceTopic, "new", OpWrite, false, "no rule allows"},
		{"literal * is every name", Principal{Name: "User:dave"}, ResourceTopic, "anything", OpDelete, true, "rule 9"},
		{"deny any wins over the implied describe", Principal{Name: "User:dave"}, ResourceTopic, "anything", OpDescribe, false, "denied by rule 10"},
		{"superuser", Principal{Name: "User:admin"}, ResourceTopic, "private.keys", OpDelete, true, "superuser User:admin"},
		{"superuser group", Principal{Name: "User:eve", Groups: []string{"Group:platform"}}, ResourceCluster, "", OpAlter, true, "superuser Group:platform"},
		{"default deny", Principal{Name: "User:mallory"}, ResourceTopic, "orders", OpRead, false, "no rule allows read on topic \"orders\""},
		{"unknown resource", alice, Resource("server"), "", OpDescribe, false, "no rules for resource"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, reason := pol.Allow(tt.p, tt.resource, tt.resName, tt.op)
			if got != tt.want || !strings.Contains(reason, tt.reason) {
				t.Fatalf("Allow = %v, %q; want %v, %q", got, reason, tt.want, tt.reason)
			}
		})
	}
}

func TestPolicyAllowAnyAndFilter(t *testing.T) {
	pol, err := ParsePolicy([]byte(testPolicy))
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"orders", "billing.invoices", "billing.secret", "public", "private.keys", "other"}
	for _, tt := range []struct {
		name     string
		p        Principal
		resource Resource
		op       Operation
		any      bool
		filtered []string
	}{
		{"alice describes", Principal{Name: "User:alice"}, ResourceTopic, OpDescribe, true, []string{"orders", "billing.invoices", "billing.secret", "public"}},
		{"alice reads", Principal{Name: "User:alice"}, ResourceTopic, OpRead, true, []string{"billing.invoices", "public"}},
		{"ops describe, but not private", Principal{Name: "User:bob", Groups: []string{"Group:ops"}}, ResourceTopic, OpDescribe, true, []string{"orders", "billing.invoices", "billing.secret", "public", "other"}},
		{"a stranger reads public", Principal{Name: "User:mallory"}, ResourceTopic, OpRead, true, []string{"public"}},
		{"a stranger writes nothing", Principal{Name: "User:mallory"}, ResourceTopic, OpWrite, false, []string{}},
		{"dave's describe is denied everywhere", Principal{Name: "User:dave"}, ResourceTopic, OpDescribe, false, []string{}},
		{"carol creates any topic", Principal{Name: "User:carol"}, ResourceTopic, OpCreate, true, names},
		{"superuser", Principal{Name: "User:admin"}, ResourceTopic, OpDelete, true, names},
		{"groups", Principal{Name: "User:alice"}, ResourceGroup, OpDescribe, true, []string{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := pol.AllowAny(tt.p, tt.resource, tt.op); got != tt.any {
				t.Fatalf("AllowAny = %v, want %v", got, tt.any)
			}
			if got := pol.Filter(tt.p, tt.resource, tt.op, names); !slices.Equal(got, tt.filtered) {
				t.Fatalf("Filter = %q, want %q", got, tt.filtered)
			}
		})
	}
}

func TestCovers(t *testing.T) {
	lit := func(n string) *rule { return &rule{pattern: patternLiteral, name: n} }
	pre := func(n string) *rule { return &rule{pattern: patternPrefixed, name: n} }
	anyr := &rule{pattern: patternAny}
	for _, tt := range []struct {
		name string
		d, a *rule
		want bool
	}{
		{"any covers all", anyr, anyr, true},
		{"literal * covers all", lit("*"), pre("x"), true},
		{"prefix covers a longer prefix", pre("ab"), pre("abc"), true},
		{"prefix does not cover a shorter one", pre("abc"), pre("ab"), false},
		{"prefix covers a literal under it", pre("ab"), lit("abc"), true},
		{"literal covers the same literal", lit("a"), lit("a"), true},
		{"literal does not cover a prefix", lit("a"), pre("a"), false},
		{"nothing narrower covers any", pre(""), anyr, false},
	} {
		if got := covers(tt.d, tt.a); got != tt.want {
			t.Errorf("%s: covers = %v", tt.name, got)
		}
	}
}

func TestParsePolicyErrors(t *testing.T) {
	rule := func(fields string) string {
		return "rules:\n  - principal: User:alice\n    permission: allow\n    resource: topic\n    name: t\n    operations: [read]\n  -\n" + fields
	}
	for _, tt := range []struct {
		name, file, want string
	}{
		{"unknown top-level field", "superusers: []\nrule: []\n", "field rule not found"},
		{"unknown rule field", rule("    principal: User:a\n    permission: allow\n    resource: topic\n    name: t\n    operations: [read]\n    host: '*'\n"), "rule 2 (line 8): yaml: construct errors: line 13: field host not found"},
		{"repeated key", rule("    principal: User:a\n    principal: User:b\n"), "rule 2 (line 8)"},
		{"bad permission", rule("    principal: User:a\n    permission: alow\n    resource: topic\n    name: t\n    operations: [read]\n"), `rule 2 (line 8): permission "alow": want allow or deny`},
		{"bad resource", rule("    principal: User:a\n    permission: allow\n    resource: topics\n    name: t\n    operations: [read]\n"), `rule 2 (line 8): resource "topics"`},
		{"bad pattern", rule("    principal: User:a\n    permission: allow\n    resource: topic\n    pattern: prefix\n    name: t\n    operations: [read]\n"), `rule 2 (line 8): pattern "prefix"`},
		{"bad operation", rule("    principal: User:a\n    permission: allow\n    resource: topic\n    name: t\n    operations: [read, wrte]\n"), `rule 2 (line 8): operation "wrte"`},
		{"operation the resource lacks", rule("    principal: User:a\n    permission: allow\n    resource: group\n    name: g\n    operations: [write]\n"), `rule 2 (line 8): operation "write": a group has read, describe, delete, all`},
		{"no operations", rule("    principal: User:a\n    permission: allow\n    resource: topic\n    name: t\n"), "rule 2 (line 8): no operations"},
		{"literal without a name", rule("    principal: User:a\n    permission: allow\n    resource: topic\n    operations: [read]\n"), "rule 2 (line 8): a literal pattern needs a name"},
		{"any with a name", rule("    principal: User:a\n    permission: allow\n    resource: topic\n    pattern: any\n    name: t\n    operations: [read]\n"), "pattern any takes no name"},
		{"cluster with a name", rule("    principal: User:a\n    permission: allow\n    resource: cluster\n    name: kafka-cluster\n    operations: [describe]\n"), "a cluster rule takes no name"},
		{"principal without a type", rule("    principal: alice\n    permission: allow\n    resource: topic\n    name: t\n    operations: [read]\n"), `rule 2 (line 8): principal "alice": want User:<name>`},
		{"lower-case type", rule("    principal: user:alice\n    permission: allow\n    resource: topic\n    name: t\n    operations: [read]\n"), `principal "user:alice"`},
		{"Group:*", rule("    principal: Group:*\n    permission: allow\n    resource: topic\n    name: t\n    operations: [read]\n"), "the wildcard is User:*"},
		{"wildcard superuser", "superusers: ['User:*']\n", "would switch authorization off"},
		{"bad superuser", "superusers: [admin]\n", `superuser "admin"`},
		{"two documents", "superusers: []\n---\nrules: []\n", "multiple"},
		{"empty", "", "no documents"},
		{"not a mapping", "- a\n", "cannot construct"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParsePolicy([]byte(tt.file))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
	if _, err := ParsePolicy([]byte("rules: []\n")); err != nil {
		t.Fatalf("an empty rule list: %v", err)
	}
}

func TestAuthorizerReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "policy.yaml")
	policy := func(name string) string {
		return fmt.Sprintf("rules:\n  - principal: User:alice\n    permission: allow\n    resource: topic\n    name: %s\n    operations: [read]\n", name)
	}
	writeFile(t, path, policy("aaa"))
	a, err := NewAuthorizer(AuthorizerOptions{File: path, ReloadInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	alice := Principal{Name: "User:alice"}
	if ok, _ := a.Allow(alice, ResourceTopic, "aaa", OpRead); !ok {
		t.Fatal("not allowed")
	}

	writeFile(t, path, policy("bbb")) // the same size
	kafkatest.WaitFor(t, 5*time.Second, func() error {
		if ok, why := a.Allow(alice, ResourceTopic, "bbb", OpRead); !ok {
			return errors.New(why)
		}
		return nil
	})
	if ok, _ := a.Allow(alice, ResourceTopic, "aaa", OpRead); ok {
		t.Fatal("the old policy is in force")
	}

	writeFile(t, path, strings.Replace(policy("ccc"), "allow", "alow", 1))
	kafkatest.WaitFor(t, 5*time.Second, func() error {
		if err := a.Err(); !errors.Is(err, ErrInvalidFile) || !strings.Contains(err.Error(), "rule 1") {
			return fmt.Errorf("Err() = %v", err)
		}
		return nil
	})
	if ok, _ := a.Allow(alice, ResourceTopic, "bbb", OpRead); !ok {
		t.Fatal("the last good policy is not in force")
	}
	if ok, _ := a.Allow(alice, ResourceTopic, "ccc", OpRead); ok {
		t.Fatal("the bad policy is in force")
	}

	writeFile(t, path, policy("ddd"))
	kafkatest.WaitFor(t, 5*time.Second, func() error {
		if ok, why := a.Allow(alice, ResourceTopic, "ddd", OpRead); !ok {
			return errors.New(why)
		}
		return a.Err()
	})
}

func TestNewAuthorizerRefusesBadFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "policy.yaml")
	writeFile(t, path, "rules:\n  - principal: User:a\n    permission: maybe\n")
	if _, err := NewAuthorizer(AuthorizerOptions{File: path}); !errors.Is(err, ErrInvalidFile) || !strings.Contains(err.Error(), "rule 1") {
		t.Fatalf("err = %v", err)
	}
}
