package auth

import (
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"fmt"
	"strings"
	"unicode/utf8"
)

// The certificate fields a principal may be named from.
const (
	// SourceCN is the subject's common name.
	SourceCN = "cn"
	// SourceDN is the whole subject, in RFC 2253 order and escaping, as
	// Java's X500Principal.getName writes it and Kafka maps it:
	// "CN=alice,OU=ServiceUsers,O=Example,C=US".
	SourceDN = "dn"
	// SourceDNS is the first DNS subject alternative name.
	SourceDNS = "dns"
	// SourceEmail is the first email subject alternative name.
	SourceEmail = "email"
	// SourceURI is the first URI subject alternative name, such as a
	// SPIFFE id.
	SourceURI = "uri"
)

// MTLSOptions configure NewMTLS.
type MTLSOptions struct {
	// Source is the certificate field that names the principal: SourceCN,
	// SourceDN, SourceDNS, SourceEmail or SourceURI. Default SourceCN, or
	// SourceDN when Rules are set (as Kafka maps the DN).
	Source string
	// Rules map the source to the user name, in the grammar of Kafka's
	// ssl.principal.mapping.rules, e.g.
	// "RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/,RULE:^CN=(.*?),OU=(.*?),.*$/$1@$2/L,DEFAULT":
	// the first rule whose pattern matches the whole source gives the
	// name, with the L or U flag lower- or upper-casing it; DEFAULT gives
	// the source as it is. A certificate no rule matches is refused.
	// Default: none, the source as it is.
	Rules string
}

// MTLS names the principal of a client certificate the TLS layer has
// verified. It is immutable and safe for concurrent use.
type MTLS struct {
	source string
	rules  mappingRules
}

// NewMTLS checks opts, parsing the rules.
func NewMTLS(opts MTLSOptions) (*MTLS, error) {
	m := &MTLS{source: opts.Source}
	if strings.TrimSpace(opts.Rules) != "" {
		rules, err := parseMappingRules(opts.Rules)
		if err != nil {
			return nil, err
		}
		if len(rules) == 0 {
			return nil, fmt.Errorf("mapping rules %q hold no rule", opts.Rules)
		}
		m.rules = rules
		if m.source == "" {
			m.source = SourceDN
		}
	}
	switch m.source {
	case "":
		m.source = SourceCN
	case SourceCN, SourceDN, SourceDNS, SourceEmail, SourceURI:
	default:
		return nil, fmt.Errorf("certificate principal source %q: want cn, dn, dns, email or uri", opts.Source)
	}
	return m, nil
}

// Authenticate returns the principal "User:<name>" of cert, the verified
// leaf certificate of a client: the name taken from the source field and
// mapped by the rules. Errors wrap ErrUnauthenticated: the field is absent,
// no rule matches, or the name is empty or holds control characters.
func (m *MTLS) Authenticate(cert *x509.Certificate) (Principal, error) {
	if cert == nil {
		return Principal{}, fmt.Errorf("%w: no client certificate", ErrUnauthenticated)
	}
	name, err := m.sourceOf(cert)
	if err != nil {
		return Principal{}, err
	}
	if m.rules != nil {
		if name, err = m.rules.mapName(name); err != nil {
			return Principal{}, err
		}
	}
	if err := checkName(name); err != nil {
		return Principal{}, fmt.Errorf("%w: certificate %s: a name that %v", ErrUnauthenticated, m.source, err)
	}
	return Principal{Name: UserType + name, Method: MethodMTLS}, nil
}

func (m *MTLS) sourceOf(cert *x509.Certificate) (string, error) {
	missing := func() (string, error) {
		return "", fmt.Errorf("%w: the client certificate has no %s", ErrUnauthenticated, m.source)
	}
	switch m.source {
	case SourceCN:
		if cert.Subject.CommonName == "" {
			return missing()
		}
		return cert.Subject.CommonName, nil
	case SourceDN:
		dn, err := distinguishedName(cert.RawSubject)
		if err != nil {
			return "", fmt.Errorf("%w: the client certificate's subject: %v", ErrUnauthenticated, err)
		}
		return dn, nil
	case SourceDNS:
		if len(cert.DNSNames) == 0 {
			return missing()
		}
		return cert.DNSNames[0], nil
	case SourceEmail:
		if len(cert.EmailAddresses) == 0 {
			return missing()
		}
		return cert.EmailAddresses[0], nil
	default:
		if len(cert.URIs) == 0 {
			return missing()
		}
		return cert.URIs[0].String(), nil
	}
}

// rdnSET is a relative distinguished name; encoding/asn1 reads a slice
// type whose name ends in SET as an ASN.1 SET OF.
type rdnSET []struct {
	Type  asn1.ObjectIdentifier
	Value asn1.RawValue
}

// rfc2253Keywords are the attribute types RFC 2253 names, and so the only
// ones X500Principal.getName writes by name; others are written as their
// dotted OID.
var rfc2253Keywords = map[string]string{
	"2.5.4.3":                    "CN",
	"2.5.4.6":                    "C",
	"2.5.4.7":                    "L",
	"2.5.4.8":                    "ST",
	"2.5.4.9":                    "STREET",
	"2.5.4.10":                   "O",
	"2.5.4.11":                   "OU",
	"0.9.2342.19200300.100.1.1":  "UID",
	"0.9.2342.19200300.100.1.25": "DC",
}

// distinguishedName writes a DER subject as Java's X500Principal.getName()
// does (RFC 2253), which is the string Kafka's mapping rules see: the RDNs
// last first, joined by commas, the values of a multi-valued RDN by plus
// signs in their encoded order. A value of a named type and a string tag
// (PrintableString, TeletexString, IA5String, GeneralString, BMPString,
// UTF8String) is its bytes read as UTF-8 with , = + < > # ; " \ escaped by
// a backslash, NUL as \00, and leading and trailing spaces and CRs
// escaped; any other value is # and the hex of its DER encoding.
func distinguishedName(rawSubject []byte) (string, error) {
	var seq []rdnSET
	rest, err := asn1.Unmarshal(rawSubject, &seq)
	if err != nil {
		return "", err
	}
	if len(rest) > 0 {
		return "", fmt.Errorf("trailing data after the subject")
	}
	var b strings.Builder
	for i := len(seq) - 1; i >= 0; i-- {
		if i < len(seq)-1 {
			b.WriteByte(',')
		}
		for j, atv := range seq[i] {
			if j > 0 {
				b.WriteByte('+')
			}
			oid := atv.Type.String()
			keyword, named := rfc2253Keywords[oid]
			if !named {
				keyword = oid
			}
			b.WriteString(keyword)
			b.WriteByte('=')
			if !named || !isDERString(atv.Value) {
				b.WriteByte('#')
				b.WriteString(hex.EncodeToString(atv.Value.FullBytes))
				continue
			}
			b.WriteString(escapeRFC2253(strings.ToValidUTF8(string(atv.Value.Bytes), string(utf8.RuneError))))
		}
	}
	return b.String(), nil
}

// isDERString reports whether v has one of the string tags X500Principal
// writes as text.
func isDERString(v asn1.RawValue) bool {
	if v.Class != asn1.ClassUniversal {
		return false
	}
	switch v.Tag {
	case asn1.TagPrintableString, asn1.TagT61String, asn1.TagIA5String, asn1.TagGeneralString, asn1.TagBMPString, asn1.TagUTF8String:
		return true
	}
	return false
}

// escapeRFC2253 escapes a value as X500Principal does.
func escapeRFC2253(v string) string {
	var b strings.Builder
	for _, r := range v {
		switch {
		case strings.ContainsRune(`,=+<>#;"\`, r):
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == 0:
			b.WriteString(`\00`)
		default:
			b.WriteRune(r)
		}
	}
	s := b.String()
	isSpace := func(c byte) bool { return c == ' ' || c == '\r' }
	lead := 0
	for lead < len(s) && isSpace(s[lead]) {
		lead++
	}
	trail := len(s)
	for trail > lead && isSpace(s[trail-1]) {
		trail--
	}
	if lead == 0 && trail == len(s) {
		return s
	}
	var out strings.Builder
	for i := 0; i < len(s); i++ {
		if i < lead || i >= trail {
			out.WriteByte('\\')
		}
		out.WriteByte(s[i])
	}
	return out.String()
}
