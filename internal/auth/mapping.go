package auth

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The grammar of Kafka's ssl.principal.mapping.rules, as Kafka's
// SslPrincipalMapper parses it: a comma-separated list of DEFAULT and
// RULE:pattern/replacement/ with an optional L or U case flag after the
// last slash, where a backslash escapes any character, a slash included.
// splitRules finds each rule with Kafka's splitter expression; parseRule
// must then match the whole rule with Kafka's rule expression, whose last
// alternative (anything) makes a malformed rule match short and so fail.
var (
	ruleExpr    = `(DEFAULT)|RULE:((\\.|[^\\/])*)/((\\.|[^\\/])*)/([LU]?).*?|(.*?)`
	splitRules  = regexp.MustCompile(`\s*(` + ruleExpr + `)\s*(,\s*|$)`)
	parseRuleRe = regexp.MustCompile(`^(?:` + ruleExpr + `)`)
)

// mappingRules map a certificate's name to a user name, as Kafka's
// ssl.principal.mapping.rules do: the first rule whose pattern matches the
// whole name gives the result, DEFAULT the name as it is.
//
// Patterns are Go regular expressions (RE2), which lack Java's
// backreferences, lookaround and possessive quantifiers; a rule using them
// is refused when parsed. The replacement follows Java's
// Matcher.replaceAll ($n and ${name} refer to groups, a backslash makes the
// next character literal), and, as in Kafka, a $n naming a group the
// pattern lacks is literal text. One corner differs: Java also replaces an
// empty match right after a non-empty one (RULE:(.*)/x/ maps "a" to "xx"),
// Go does not ("x"); anchored patterns, as every example in Kafka's
// documentation is, never meet it.
type mappingRules []*mappingRule

type mappingRule struct {
	isDefault    bool
	pattern      string
	replacement  string
	lower, upper bool
	re, whole    *regexp.Regexp // the pattern, and anchored at both ends
	expand       []replacePart
	groups       int
}

// replacePart is literal text, or a group's match when group >= 0.
type replacePart struct {
	text  string
	group int
}

// parseMappingRules parses a rules string in Kafka's grammar; empty rules
// (",,") are skipped, as Kafka skips them.
func parseMappingRules(s string) (mappingRules, error) {
	var rules mappingRules
	for i, m := range splitRules.FindAllStringSubmatch(strings.TrimSpace(s), -1) {
		r, err := parseRule(m[1])
		if err != nil {
			return nil, fmt.Errorf("mapping rule %d %q: %w", i+1, m[1], err)
		}
		if r != nil {
			rules = append(rules, r)
		}
	}
	return rules, nil
}

// parseRule parses one rule, returning nil for an empty one.
func parseRule(s string) (*mappingRule, error) {
	m := parseRuleRe.FindStringSubmatchIndex(s)
	if m == nil || m[1] != len(s) {
		end := 0
		if m != nil {
			end = m[1]
		}
		return nil, fmt.Errorf("want DEFAULT or RULE:pattern/replacement/[L|U]; %q does not fit", s[end:])
	}
	group := func(i int) (string, bool) {
		if m[2*i] < 0 {
			return "", false
		}
		return s[m[2*i]:m[2*i+1]], true
	}
	if _, ok := group(1); ok {
		return &mappingRule{isDefault: true}, nil
	}
	pattern, ok := group(2)
	if !ok {
		return nil, nil // the empty rule
	}
	replacement, _ := group(4)
	flag, _ := group(6)
	r := &mappingRule{pattern: pattern, replacement: replacement, lower: flag == "L", upper: flag == "U"}
	var err error
	if r.re, err = regexp.Compile(pattern); err != nil {
		return nil, fmt.Errorf("pattern: %w", err)
	}
	if r.whole, err = regexp.Compile(`^(?:` + pattern + `)$`); err != nil {
		return nil, fmt.Errorf("pattern: %w", err)
	}
	r.groups = r.re.NumSubexp()
	if r.expand, err = parseReplacement(replacement, r.re); err != nil {
		return nil, fmt.Errorf("replacement: %w", err)
	}
	return r, nil
}

// parseReplacement parses a replacement as Java's Matcher does, after
// Kafka has made literal each $n whose n (cut to its longest prefix that
// names a group) names no group of re. Java would fail at match time where
// this fails now: a trailing backslash or $, a $ before anything but a
// digit or {name}, an unknown name, or, with a pattern of no groups, $n
// for n > 0 (Kafka makes nothing literal then).
func parseReplacement(s string, re *regexp.Regexp) ([]replacePart, error) {
	groups := re.NumSubexp()
	var (
		parts []replacePart
		lit   strings.Builder
	)
	flush := func() {
		if lit.Len() > 0 {
			parts = append(parts, replacePart{text: lit.String(), group: -1})
			lit.Reset()
		}
	}
	isDigit := func(c byte) bool { return c >= '0' && c <= '9' }
	for i := 0; i < len(s); {
		switch c := s[i]; {
		case c == '\\':
			if i+1 == len(s) {
				return nil, fmt.Errorf("ends in a backslash that escapes nothing")
			}
			_, size := utf8.DecodeRuneInString(s[i+1:])
			lit.WriteString(s[i+1 : i+1+size])
			i += 1 + size
		case c == '$':
			if i+1 == len(s) {
				return nil, fmt.Errorf("ends in a $ that names no group")
			}
			if s[i+1] == '{' {
				end := strings.IndexByte(s[i+2:], '}')
				if end < 0 {
					return nil, fmt.Errorf("${ without a closing }")
				}
				name := s[i+2 : i+2+end]
				if name == "" || isDigit(name[0]) || strings.TrimFunc(name, isASCIIAlnum) != "" {
					return nil, fmt.Errorf("group name %q: want letters and digits, not starting with a digit", name)
				}
				g := re.SubexpIndex(name)
				if g < 0 {
					return nil, fmt.Errorf("no group named %q", name)
				}
				flush()
				parts = append(parts, replacePart{group: g})
				i += 2 + end + 1
				continue
			}
			if !isDigit(s[i+1]) {
				return nil, fmt.Errorf("a $ must be followed by a group number or {name}; write \\$ for a literal $")
			}
			// Kafka's escape: the digit run, cut while too big, names no
			// group: the $ is literal, and so the digits.
			j := i + 1
			for j < len(s) && isDigit(s[j]) {
				j++
			}
			if run := s[i+1 : j]; groups > 0 && run[0] != '0' {
				n, _ := strconv.Atoi(run[:min(len(run), 9)])
				for n > groups && n >= 10 {
					n /= 10
				}
				if n > groups {
					lit.WriteByte('$')
					i++
					continue
				}
			}
			// Java: the first digit is a group, and each next digit joins
			// it while the number still names a group.
			g, k := int(s[i+1]-'0'), i+2
			for k < len(s) && isDigit(s[k]) && g*10+int(s[k]-'0') <= groups {
				g = g*10 + int(s[k]-'0')
				k++
			}
			if g > groups {
				return nil, fmt.Errorf("$%d: the pattern has no group %d", g, g)
			}
			flush()
			parts = append(parts, replacePart{group: g})
			i = k
		default:
			lit.WriteByte(c)
			i++
		}
	}
	flush()
	return parts, nil
}

func isASCIIAlnum(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
}

// apply returns the rule's result for name, and whether it matched.
func (r *mappingRule) apply(name string) (string, bool) {
	if r.isDefault {
		return name, true
	}
	if !r.whole.MatchString(name) {
		return "", false
	}
	var b strings.Builder
	last := 0
	for _, m := range r.re.FindAllStringSubmatchIndex(name, -1) {
		b.WriteString(name[last:m[0]])
		for _, p := range r.expand {
			switch {
			case p.group < 0:
				b.WriteString(p.text)
			case m[2*p.group] >= 0:
				b.WriteString(name[m[2*p.group]:m[2*p.group+1]])
			}
		}
		last = m[1]
	}
	b.WriteString(name[last:])
	out := b.String()
	switch {
	case r.lower:
		out = strings.ToLower(out)
	case r.upper:
		out = strings.ToUpper(out)
	}
	return out, true
}

// mapName returns the first matching rule's result for name.
func (rs mappingRules) mapName(name string) (string, error) {
	for _, r := range rs {
		if out, ok := r.apply(name); ok {
			return out, nil
		}
	}
	return "", fmt.Errorf("%w: no mapping rule matches %q", ErrUnauthenticated, name)
}

// String writes the rules as Kafka's SslPrincipalMapper lists them, for
// logs and for comparing with Kafka's own tests.
func (rs mappingRules) String() string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = r.String()
	}
	return "[" + strings.Join(s, ", ") + "]"
}

// String writes the rule as Kafka does: the replacement's closing slash
// only when a flag follows.
func (r *mappingRule) String() string {
	if r.isDefault {
		return "DEFAULT"
	}
	s := "RULE:" + r.pattern + "/" + r.replacement
	switch {
	case r.lower:
		s += "/L"
	case r.upper:
		s += "/U"
	}
	return s
}
