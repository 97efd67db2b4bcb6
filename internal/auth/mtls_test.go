package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"math/big"
	"net/url"
	"strings"
	"testing"
	"time"
)

// newCert returns a self-signed certificate made from tmpl.
func newCert(t *testing.T, tmpl x509.Certificate) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl.SerialNumber = big.NewInt(1)
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	tmpl.NotAfter = time.Now().Add(time.Hour)
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	der, err := x509.CreateCertificate(rand.Reader, &tmpl, &tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

var (
	oidDC    = asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 25}
	oidUID   = asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 1}
	oidEmail = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}
	oidCN    = asn1.ObjectIdentifier{2, 5, 4, 3}
	oidOU    = asn1.ObjectIdentifier{2, 5, 4, 11}
)

// rawSubject encodes rdns, first to last as they are encoded (the reverse
// of RFC 2253's order).
func rawSubject(t *testing.T, rdns ...[]pkix.AttributeTypeAndValue) []byte {
	t.Helper()
	var seq pkix.RDNSequence
	for _, r := range rdns {
		seq = append(seq, r)
	}
	der, err := asn1.Marshal(seq)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func atv(oid asn1.ObjectIdentifier, v any) []pkix.AttributeTypeAndValue {
	return []pkix.AttributeTypeAndValue{{Type: oid, Value: v}}
}

func TestDistinguishedName(t *testing.T) {
	ia5 := func(s string) asn1.RawValue {
		return asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagIA5String, Bytes: []byte(s)}
	}
	for _, tt := range []struct {
		name    string
		subject pkix.Name
		raw     []byte
		noCert  bool // x509 refuses the subject; format it directly
		want    string
	}{
		{name: "Kafka's documented example", subject: pkix.Name{CommonName: "serviceuser", OrganizationalUnit: []string{"ServiceUsers"}, Organization: []string{"Unknown"}, Locality: []string{"Unknown"}, Province: []string{"Unknown"}, Country: []string{"Unknown"}},
			want: "CN=serviceuser,OU=ServiceUsers,O=Unknown,L=Unknown,ST=Unknown,C=Unknown"},
		{name: "escapes", subject: pkix.Name{CommonName: `Tkac, Adam+x=y<a>#1;"q"\`},
			want: `CN=Tkac\, Adam\+x\=y\<a\>\#1\;\"q\"\\`},
		{name: "leading and trailing spaces", subject: pkix.Name{CommonName: "  padded "},
			want: `CN=\ \ padded\ `},
		{name: "UTF-8 as it is", subject: pkix.Name{CommonName: "Ærøskøbing_ü@x"},
			want: "CN=Ærøskøbing_ü@x"},
		{name: "DC and UID by name", raw: rawSubject(t, atv(oidDC, ia5("cz")), atv(oidDC, "geodis"), atv(oidOU, "ITZ"), atv(oidUID, "tkac"), atv(oidCN, "Tkac, Adam")),
			want: `CN=Tkac\, Adam,UID=tkac,OU=ITZ,DC=geodis,DC=cz`},
		{name: "other types as OID and DER hex", raw: rawSubject(t, atv(oidEmail, ia5("a@b")), atv(oidCN, "x")),
			want: "CN=x,1.2.840.113549.1.9.1=#1603614062"},
		{name: "a non-string value as hex", raw: rawSubject(t, atv(oidCN, 7)), noCert: true,
			want: "CN=#020107"},
		{name: "multi-valued RDN", raw: rawSubject(t, []pkix.AttributeTypeAndValue{{Type: oidCN, Value: "a"}, {Type: oidOU, Value: "b"}}, atv(oidOU, "c")),
			want: "OU=c,CN=a+OU=b"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			raw := tt.raw
			if !tt.noCert {
				raw = newCert(t, x509.Certificate{Subject: tt.subject, RawSubject: tt.raw}).RawSubject
			}
			got, err := distinguishedName(raw)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("DN = %s\nwant   %s", got, tt.want)
			}
		})
	}
}

func TestMTLSAuthenticate(t *testing.T) {
	spiffe, _ := url.Parse("spiffe://example.org/ns/prod/sa/orders")
	cert := newCert(t, x509.Certificate{
		Subject:        pkix.Name{CommonName: "adminUser", OrganizationalUnit: []string{"Admin"}, Organization: []string{"Unknown"}, Locality: []string{"Unknown"}, Province: []string{"Unknown"}, Country: []string{"Unknown"}},
		DNSNames:       []string{"orders.prod.example.org", "second.example.org"},
		EmailAddresses: []string{"admin@example.org"},
		URIs:           []*url.URL{spiffe},
	})
	service := newCert(t, x509.Certificate{Subject: pkix.Name{CommonName: "serviceuser", OrganizationalUnit: []string{"ServiceUsers"}, Organization: []string{"Unknown"}, Locality: []string{"Unknown"}, Province: []string{"Unknown"}, Country: []string{"Unknown"}}})
	bare := newCert(t, x509.Certificate{Subject: pkix.Name{Organization: []string{"NoName"}}})
	// Where Java's DN and Go's pkix.Name.String part: DC by name, = escaped.
	dc := newCert(t, x509.Certificate{RawSubject: rawSubject(t, atv(oidDC, "org"), atv(oidDC, "example"), atv(oidCN, "a=b"))})
	// Kafka's documented ssl.principal.mapping.rules example.
	const kafkaDocRules = "RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/,RULE:^CN=(.*?),OU=(.*?),O=(.*?),L=(.*?),ST=(.*?),C=(.*?)$/$1@$2/L,RULE:^.*[Cc][Nn]=([a-zA-Z0-9.]*).*$/$1/L,DEFAULT"
	for _, tt := range []struct {
		name string
		opts MTLSOptions
		cert *x509.Certificate
		want string // "" for an error
	}{
		{name: "CN by default", cert: cert, want: "User:adminUser"},
		{name: "DN", opts: MTLSOptions{Source: SourceDN}, cert: cert, want: "User:CN=adminUser,OU=Admin,O=Unknown,L=Unknown,ST=Unknown,C=Unknown"},
		{name: "DN as Kafka sees it", opts: MTLSOptions{Source: SourceDN}, cert: dc, want: `User:CN=a\=b,DC=example,DC=org`},
		{name: "rules on DC", opts: MTLSOptions{Rules: `RULE:^CN=(.*),DC=(\w+),DC=org$/$2/`}, cert: dc, want: "User:example"},
		{name: "first DNS SAN", opts: MTLSOptions{Source: SourceDNS}, cert: cert, want: "User:orders.prod.example.org"},
		{name: "email SAN", opts: MTLSOptions{Source: SourceEmail}, cert: cert, want: "User:admin@example.org"},
		{name: "URI SAN", opts: MTLSOptions{Source: SourceURI}, cert: cert, want: "User:spiffe://example.org/ns/prod/sa/orders"},
		{name: "Kafka doc rules, service user", opts: MTLSOptions{Rules: kafkaDocRules}, cert: service, want: "User:serviceuser"},
		{name: "Kafka doc rules, admin", opts: MTLSOptions{Rules: kafkaDocRules}, cert: cert, want: "User:adminuser@admin"},
		{name: "Kafka doc rules, DEFAULT", opts: MTLSOptions{Rules: kafkaDocRules}, cert: bare, want: "User:O=NoName"},
		{name: "rules on a SAN", opts: MTLSOptions{Source: SourceURI, Rules: `RULE:^spiffe:\/\/example.org\/ns\/(.*)\/sa\/(.*)$/$2.$1/`}, cert: cert, want: "User:orders.prod"},
		{name: "no rule matches", opts: MTLSOptions{Rules: "RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/"}, cert: cert},
		{name: "no CN", cert: bare},
		{name: "no DNS SAN", opts: MTLSOptions{Source: SourceDNS}, cert: service},
		{name: "no certificate"},
		{name: "a rule making an empty name", opts: MTLSOptions{Rules: "RULE:.*//"}, cert: cert},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m, err := NewMTLS(tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			p, err := m.Authenticate(tt.cert)
			if tt.want == "" {
				if !errors.Is(err, ErrUnauthenticated) {
					t.Fatalf("principal %v, err = %v; want ErrUnauthenticated", p, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Name != tt.want || p.Method != MethodMTLS {
				t.Fatalf("principal = %#v, want %s", p, tt.want)
			}
		})
	}
}

func TestNewMTLSRefuses(t *testing.T) {
	for _, opts := range []MTLSOptions{
		{Source: "serial"},
		{Rules: "RULE:^CN=(.*?)/$1/X"},
		{Rules: ",,, ,"},
		{Rules: `RULE:^CN=(\w+)\1$/$1/`}, // a backreference: not RE2
		{Rules: "RULE:^CN=(?=x)/$1/"},
	} {
		if _, err := NewMTLS(opts); err == nil {
			t.Errorf("NewMTLS(%+v) took it", opts)
		}
	}
}

// The cases of Kafka's SslPrincipalMapperTest.
func TestMappingRulesKafka(t *testing.T) {
	t.Run("valid", func(t *testing.T) {
		for _, r := range []string{
			"DEFAULT",
			"RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/",
			"RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L, DEFAULT",
			"RULE:^CN=(.*?),OU=(.*?),O=(.*?),L=(.*?),ST=(.*?),C=(.*?)$/$1@$2/",
			"RULE:^.*[Cc][Nn]=([a-zA-Z0-9.]*).*$/$1/L",
			"RULE:^cn=(.?),ou=(.?),dc=(.?),dc=(.?)$/$1@$2/U",
			"RULE:^CN=([^,ADEFLTU,]+)(,.*|$)/$1/",
			"RULE:^CN=([^,DEFAULT,]+)(,.*|$)/$1/",
		} {
			if _, err := parseMappingRules(r); err != nil {
				t.Errorf("%q: %v", r, err)
			}
		}
	})
	t.Run("invalid", func(t *testing.T) {
		for _, r := range []string{
			"default",
			"DEFAUL",
			"DEFAULT/L",
			"DEFAULT/U",
			"RULE:CN=(.*?),OU=ServiceUsers.*/$1",
			"rule:^CN=(.*?),OU=ServiceUsers.*$/$1/",
			"RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L/U",
			"RULE:^CN=(.*?),OU=ServiceUsers.*$/L",
			"RULE:^CN=(.*?),OU=ServiceUsers.*$/U",
			"RULE:^CN=(.*?),OU=ServiceUsers.*$/LU",
		} {
			if rules, err := parseMappingRules(r); err == nil {
				t.Errorf("%q parsed as %s", r, rules)
			}
		}
	})
	t.Run("mapping", func(t *testing.T) {
		rules, err := parseMappingRules(strings.Join([]string{
			"RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L",
			"RULE:^CN=(.*?),OU=(.*?),O=(.*?),L=(.*?),ST=(.*?),C=(.*?)$/$1@$2/L",
			"RULE:^cn=(.*?),ou=(.*?),dc=(.*?),dc=(.*?)$/$1@$2/U",
			"RULE:^.*[Cc][Nn]=([a-zA-Z0-9.]*).*$/$1/U",
			"DEFAULT",
		}, ", "))
		if err != nil {
			t.Fatal(err)
		}
		for _, tt := range []struct{ dn, want string }{
			{"CN=Duke,OU=ServiceUsers,O=Org,C=US", "duke"},
			{"CN=Duke,OU=SME,O=mycp,L=Fulton,ST=MD,C=US", "duke@sme"},
			{"cn=duke,ou=sme,dc=mycp,dc=com", "DUKE@SME"},
			{"cN=duke,OU=JavaSoft,O=Sun Microsystems", "DUKE"},
			{"OU=JavaSoft,O=Sun Microsystems,C=US", "OU=JavaSoft,O=Sun Microsystems,C=US"},
		} {
			if got, err := rules.mapName(tt.dn); err != nil || got != tt.want {
				t.Errorf("map(%q) = %q, %v; want %q", tt.dn, got, err, tt.want)
			}
		}
	})
	t.Run("splitting", func(t *testing.T) {
		for _, tt := range []struct{ want, rules string }{
			{"[]", ""},
			{"[DEFAULT]", "DEFAULT"},
			{"[RULE:/]", "RULE://"},
			{"[RULE:/.*]", "RULE:/.*/"},
			{"[RULE:/.*/L]", "RULE:/.*/L"},
			{"[RULE:/, DEFAULT]", "RULE://,DEFAULT"},
			{"[RULE:/, DEFAULT]", "  RULE:// ,  DEFAULT  "},
			{"[RULE:   /     , DEFAULT]", "  RULE:   /     / ,  DEFAULT  "},
			{"[RULE:  /     /U, DEFAULT]", "  RULE:  /     /U   ,DEFAULT  "},
			{"[RULE:([A-Z]*)/$1/U, RULE:([a-z]+)/$1, DEFAULT]", "  RULE:([A-Z]*)/$1/U   ,RULE:([a-z]+)/$1/,   DEFAULT  "},
			// empty rules are ignored
			{"[]", ",   , , ,      , , ,   "},
			{"[RULE:/, DEFAULT]", ",,RULE://,,,DEFAULT,,"},
			{"[RULE: /   , DEFAULT]", ",  , RULE: /   /    ,,,   DEFAULT, ,   "},
			{"[RULE:   /  /U, DEFAULT]", "     ,  , RULE:   /  /U    ,,  ,DEFAULT, ,"},
			// escape sequences
			{`[RULE:\/\\\(\)\n\t/\/\/]`, `RULE:\/\\\(\)\n\t/\/\//`},
			{`[RULE:\**\/+/*/L, RULE:\/*\**/**]`, `RULE:\**\/+/*/L,RULE:\/*\**/**/`},
			// rules rule
			{`[RULE:,RULE:,/,RULE:,\//U, RULE:,/RULE:,, RULE:,RULE:,/L,RULE:,/L, RULE:, DEFAULT, /DEFAULT, DEFAULT]`,
				`RULE:,RULE:,/,RULE:,\//U,RULE:,/RULE:,/,RULE:,RULE:,/L,RULE:,/L,RULE:, DEFAULT, /DEFAULT/,DEFAULT`},
		} {
			// Kafka's splitter takes these; some of their patterns are not
			// valid regular expressions ("*" alone), which Kafka would
			// refuse too, when compiling. Compare the split only.
			got := splitOnly(tt.rules)
			if got != tt.want {
				t.Errorf("split(%q)\n = %s\nwant %s", tt.rules, got, tt.want)
			}
		}
	})
	t.Run("comma with whitespace", func(t *testing.T) {
		rules, err := parseMappingRules(`RULE:^CN=((\\, *|\w)+)(,.*|$)/$1/,DEFAULT`)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := rules.mapName(`CN=Tkac\, Adam,OU=ITZ,DC=geodis,DC=cz`); err != nil || got != `Tkac\, Adam` {
			t.Fatalf("got %q, %v", got, err)
		}
	})
}

// splitOnly splits and parses rules without compiling their patterns,
// writing them as Kafka's SslPrincipalMapper.toString does.
func splitOnly(s string) string {
	var out []string
	for _, m := range splitRules.FindAllStringSubmatch(strings.TrimSpace(s), -1) {
		r := m[1]
		loc := parseRuleRe.FindStringSubmatch(r)
		switch {
		case loc == nil || len(loc[0]) != len(r):
			return "invalid: " + r
		case loc[1] != "":
			out = append(out, "DEFAULT")
		case strings.HasPrefix(r, "RULE:"):
			rule := &mappingRule{pattern: loc[2], replacement: loc[4], lower: loc[6] == "L", upper: loc[6] == "U"}
			out = append(out, rule.String())
		}
	}
	return "[" + strings.Join(out, ", ") + "]"
}

func TestMappingReplacement(t *testing.T) {
	for _, tt := range []struct {
		name, rule, in, want string
	}{
		{"group refs", "RULE:^(\\w+)@(\\w+)$/$2.$1/", "alice@ops", "ops.alice"},
		{"$n past the groups is literal, as in Kafka", "RULE:^(\\w+)$/$1@$4/", "alice", "alice@$4"},
		{"$12 with one group is $1 then 2", "RULE:^(\\w+)$/$12/", "alice", "alice2"},
		{"$0 is the whole match", "RULE:^CN=(\\w+)$/<$0>/", "CN=a", "<CN=a>"},
		{"escaped $", `RULE:^(\w+)$/\$1=$1/`, "alice", "$1=alice"},
		{"named group", "RULE:^CN=(?P<user>\\w+),.*$/${user}/", "CN=bob,O=x", "bob"},
		{"unmatched group is empty", "RULE:^(a)?(b)$/[$1]$2/", "b", "[]b"},
		{"upper", "RULE:^CN=(.*)$/$1/U", "CN=bob", "BOB"},
		{"escaped slash in the pattern", `RULE:^uri=spiffe:\/\/(.*)$/$1/`, "uri=spiffe://x", "x"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rules, err := parseMappingRules(tt.rule)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := rules.mapName(tt.in); err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	for _, bad := range []string{
		`RULE:^(a)$/x\/`,            // a trailing backslash (the slash is escaped: no closing slash)
		"RULE:^a$/$1/",              // no groups to refer to
		"RULE:^(a)$/$x/",            // $ before a letter
		"RULE:^(a)$/${nope}/",       // no such group
		"RULE:^(?P<u>a)$/${u/",      // unclosed
		"RULE:^(?P<u_1>a)$/${u_1}/", // Java group names are letters and digits
	} {
		if rules, err := parseMappingRules(bad); err == nil {
			t.Errorf("%q parsed as %s", bad, rules)
		}
	}
}
