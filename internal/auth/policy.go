package auth

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"go.yaml.in/yaml/v4"

	"krest/internal/watch"
)

// Resource is a kind of thing a rule guards, as Kafka's ACLs name them.
type Resource string

// The resources.
const (
	// ResourceTopic is a topic, named by its topic name.
	ResourceTopic Resource = "topic"
	// ResourceGroup is a consumer group, named by its group id.
	ResourceGroup Resource = "group"
	// ResourceCluster is the cluster itself; it has no name.
	ResourceCluster Resource = "cluster"
)

// Operation is what a request does to a resource, as Kafka's ACLs name it.
type Operation string

// The operations. Allowing read, write, delete or alter allows describe
// too, and allowing alter_configs allows describe_configs, as in Kafka.
const (
	// OpRead reads records from a topic, or consumes as a group.
	OpRead Operation = "read"
	// OpWrite produces records to a topic.
	OpWrite Operation = "write"
	// OpCreate creates a topic (or, on the cluster, any topic).
	OpCreate Operation = "create"
	// OpDelete deletes a topic or a group.
	OpDelete Operation = "delete"
	// OpAlter changes a topic (its partition count) or the cluster.
	OpAlter Operation = "alter"
	// OpDescribe reads metadata: a topic's partitions, a group's
	// members, the cluster's brokers.
	OpDescribe Operation = "describe"
	// OpAlterConfigs changes configs.
	OpAlterConfigs Operation = "alter_configs"
	// OpDescribeConfigs reads configs.
	OpDescribeConfigs Operation = "describe_configs"
	// OpAll in a rule stands for every operation.
	OpAll Operation = "all"
)

// operations lists, per resource, the operations a rule may name, as
// Kafka's ACLs allow them.
var operations = map[Resource][]Operation{
	ResourceTopic:   {OpRead, OpWrite, OpCreate, OpDelete, OpAlter, OpDescribe, OpAlterConfigs, OpDescribeConfigs, OpAll},
	ResourceGroup:   {OpRead, OpDescribe, OpDelete, OpAll},
	ResourceCluster: {OpCreate, OpAlter, OpDescribe, OpAlterConfigs, OpDescribeConfigs, OpAll},
}

// impliedBy lists, for the operations others imply, the operations whose
// allowance allows them.
var impliedBy = map[Operation][]Operation{
	OpDescribe:        {OpDescribe, OpRead, OpWrite, OpDelete, OpAlter},
	OpDescribeConfigs: {OpDescribeConfigs, OpAlterConfigs},
}

// implied returns the operations whose allowance allows op.
func implied(op Operation) []Operation {
	if ops, ok := impliedBy[op]; ok {
		return ops
	}
	return []Operation{op}
}

// The pattern types of a rule's name.
const (
	patternLiteral  = "literal"  // the name itself; "*" matches every name, as in Kafka
	patternPrefixed = "prefixed" // names starting with it
	patternAny      = "any"      // every name
)

// Policy is a parsed policy file: superusers, and allow and deny rules
// with Kafka's semantics. It is immutable and safe for concurrent use.
type Policy struct {
	superusers map[string]bool
	// rules by resource, then by the principal they name.
	rules map[Resource]map[string][]*rule
}

type rule struct {
	index      int // from 1, in the file's order
	line       int
	principal  string
	allow      bool
	resource   Resource
	pattern    string
	name       string
	operations []Operation
}

// String names the rule by its number and line, for errors and reasons.
func (r *rule) String() string {
	return fmt.Sprintf("rule %d (line %d)", r.index, r.line)
}

// matches reports whether the rule's name pattern covers name.
func (r *rule) matches(name string) bool {
	switch r.pattern {
	case patternAny:
		return true
	case patternPrefixed:
		return strings.HasPrefix(name, r.name)
	default:
		return r.name == "*" || r.name == name
	}
}

// names reports whether the rule names one of ops, or all.
func (r *rule) names(ops ...Operation) bool {
	for _, op := range r.operations {
		if op == OpAll || slices.Contains(ops, op) {
			return true
		}
	}
	return false
}

// policyFile is the policy file's shape; each rule is loaded from its
// node, so that an error in it can name it.
type policyFile struct {
	Superusers []string    `yaml:"superusers"`
	Rules      []yaml.Node `yaml:"rules"`
}

type ruleFile struct {
	Principal  string   `yaml:"principal"`
	Permission string   `yaml:"permission"`
	Resource   string   `yaml:"resource"`
	Pattern    string   `yaml:"pattern"`
	Name       string   `yaml:"name"`
	Operations []string `yaml:"operations"`
}

// ParsePolicy parses a policy file:
//
//	superusers: [User:admin, Group:platform]
//	rules:
//	  - principal: User:alice   # or Group:ops, or User:* for everyone
//	    permission: allow       # allow | deny
//	    resource: topic         # topic | group | cluster
//	    pattern: literal        # literal (the default) | prefixed | any
//	    name: orders            # none for pattern any and for the cluster
//	    operations: [write, describe]
//
// Parsing is strict: an unknown field, a repeated key, a value outside its
// set, an operation the resource does not have, or more than one YAML
// document is an error naming the rule and its line.
func ParsePolicy(data []byte) (*Policy, error) {
	var f policyFile
	if err := yaml.Load(data, &f, yaml.WithKnownFields()); err != nil {
		return nil, err
	}
	p := &Policy{superusers: make(map[string]bool), rules: make(map[Resource]map[string][]*rule)}
	for _, s := range f.Superusers {
		if err := checkPrincipal(s); err != nil {
			return nil, fmt.Errorf("superuser %q: %w", s, err)
		}
		if strings.HasSuffix(s, ":*") {
			return nil, fmt.Errorf("superuser %q: a wildcard superuser would switch authorization off", s)
		}
		p.superusers[s] = true
	}
	for i, node := range f.Rules {
		r := &rule{index: i + 1, line: node.Line}
		var rf ruleFile
		if err := node.Load(&rf, yaml.WithKnownFields()); err != nil {
			return nil, fmt.Errorf("%s: %w", r, err)
		}
		if err := r.parse(rf); err != nil {
			return nil, fmt.Errorf("%s: %w", r, err)
		}
		if p.rules[r.resource] == nil {
			p.rules[r.resource] = make(map[string][]*rule)
		}
		p.rules[r.resource][r.principal] = append(p.rules[r.resource][r.principal], r)
	}
	return p, nil
}

func (r *rule) parse(f ruleFile) error {
	if err := checkPrincipal(f.Principal); err != nil {
		return fmt.Errorf("principal %q: %w", f.Principal, err)
	}
	r.principal = f.Principal
	switch f.Permission {
	case "allow":
		r.allow = true
	case "deny":
	default:
		return fmt.Errorf("permission %q: want allow or deny", f.Permission)
	}
	r.resource = Resource(f.Resource)
	valid, ok := operations[r.resource]
	if !ok {
		return fmt.Errorf("resource %q: want topic, group or cluster", f.Resource)
	}
	r.pattern, r.name = f.Pattern, f.Name
	switch {
	case r.resource == ResourceCluster:
		if r.name != "" || (r.pattern != "" && r.pattern != patternAny) {
			return fmt.Errorf("a cluster rule takes no name or pattern")
		}
		r.pattern = patternAny
	case r.pattern == "" || r.pattern == patternLiteral || r.pattern == patternPrefixed:
		if r.pattern == "" {
			r.pattern = patternLiteral
		}
		if r.name == "" {
			return fmt.Errorf("a %s pattern needs a name", r.pattern)
		}
	case r.pattern == patternAny:
		if r.name != "" {
			return fmt.Errorf("pattern any takes no name")
		}
	default:
		return fmt.Errorf("pattern %q: want literal, prefixed or any", f.Pattern)
	}
	if len(f.Operations) == 0 {
		return fmt.Errorf("no operations")
	}
	for _, o := range f.Operations {
		op := Operation(o)
		if !slices.Contains(valid, op) {
			names := make([]string, len(valid))
			for i, v := range valid {
				names[i] = string(v)
			}
			return fmt.Errorf("operation %q: a %s has %s", o, r.resource, strings.Join(names, ", "))
		}
		r.operations = append(r.operations, op)
	}
	return nil
}

// checkPrincipal checks a principal as a rule names it: "User:<name>",
// "Group:<name>" or "User:*".
func checkPrincipal(s string) error {
	name, ok := strings.CutPrefix(s, UserType)
	if !ok {
		name, ok = strings.CutPrefix(s, GroupType)
	}
	if !ok {
		return fmt.Errorf("want User:<name>, Group:<name> or User:*")
	}
	if name == "*" && strings.HasPrefix(s, GroupType) {
		return fmt.Errorf("the wildcard is User:*")
	}
	return checkName(name)
}

// candidates returns the rules on resource that apply to p: those naming
// p, User:* or one of p's groups.
func (pol *Policy) candidates(p Principal, resource Resource) []*rule {
	byPrincipal := pol.rules[resource]
	if len(byPrincipal) == 0 {
		return nil
	}
	rules := slices.Clone(byPrincipal[p.Name])
	rules = append(rules, byPrincipal[UserType+"*"]...)
	for _, g := range p.Groups {
		rules = append(rules, byPrincipal[g]...)
	}
	return rules
}

// superuser returns the superuser entry p matches, if any.
func (pol *Policy) superuser(p Principal) (string, bool) {
	if pol.superusers[p.Name] {
		return p.Name, true
	}
	for _, g := range p.Groups {
		if pol.superusers[g] {
			return g, true
		}
	}
	return "", false
}

// Allow reports whether p may perform op on the resource called name (the
// name is ignored for the cluster), and why, naming the rule that decided,
// for logs. Kafka's semantics: superusers may do anything; a deny rule
// naming op (or all) wins over any allow; an allow rule naming op, an
// operation implying it, or all allows; nothing else is allowed. Creating
// a topic is also allowed to whoever may create on the cluster, as Kafka's
// CreateTopics allows it.
func (pol *Policy) Allow(p Principal, resource Resource, name string, op Operation) (bool, string) {
	if s, ok := pol.superuser(p); ok {
		return true, "superuser " + s
	}
	if resource == ResourceTopic && op == OpCreate {
		if ok, why := pol.decide(p, ResourceCluster, "", OpCreate); ok {
			return true, "cluster create: " + why
		}
	}
	return pol.decide(p, resource, name, op)
}

func (pol *Policy) decide(p Principal, resource Resource, name string, op Operation) (bool, string) {
	if _, ok := operations[resource]; !ok {
		return false, fmt.Sprintf("no rules for resource %q", resource)
	}
	return decide(pol.candidates(p, resource), resource, name, op)
}

// decide applies the candidate rules, saying why.
func decide(rules []*rule, resource Resource, name string, op Operation) (bool, string) {
	r, ok := match(rules, name, op)
	switch {
	case r != nil && ok:
		return true, "allowed by " + r.String()
	case r != nil:
		return false, "denied by " + r.String()
	case resource == ResourceCluster:
		return false, fmt.Sprintf("no rule allows %s on the cluster", op)
	}
	return false, fmt.Sprintf("no rule allows %s on %s %q", op, resource, name)
}

// match returns the rule that decides op on name, and whether it allows:
// the first deny naming op (or all), else the first allow naming op, an
// operation implying it, or all; else nil.
func match(rules []*rule, name string, op Operation) (*rule, bool) {
	for _, r := range rules {
		if !r.allow && r.matches(name) && r.names(op) {
			return r, false
		}
	}
	ops := implied(op)
	for _, r := range rules {
		if r.allow && r.matches(name) && r.names(ops...) {
			return r, true
		}
	}
	return nil, false
}

// AllowAny reports whether p may perform op on at least one resource of
// the kind, as Kafka's authorizeByResourceType decides it: a superuser
// may; otherwise some allow rule (for op or an operation implying it) must
// cover names that no deny rule for op covers entirely. A listing answers
// 403 when AllowAny is false, and otherwise filters its items with Filter.
func (pol *Policy) AllowAny(p Principal, resource Resource, op Operation) bool {
	if _, ok := pol.superuser(p); ok {
		return true
	}
	if resource == ResourceTopic && op == OpCreate {
		if ok, _ := pol.decide(p, ResourceCluster, "", OpCreate); ok {
			return true
		}
	}
	rules := pol.candidates(p, resource)
	ops := implied(op)
	for _, a := range rules {
		if !a.allow || !a.names(ops...) {
			continue
		}
		shadowed := false
		for _, d := range rules {
			if !d.allow && d.names(op) && covers(d, a) {
				shadowed = true
				break
			}
		}
		if !shadowed {
			return true
		}
	}
	return false
}

// covers reports whether deny rule d matches every name allow rule a does.
func covers(d, a *rule) bool {
	if d.pattern == patternAny || (d.pattern == patternLiteral && d.name == "*") {
		return true
	}
	if a.pattern == patternAny || (a.pattern == patternLiteral && a.name == "*") {
		return false
	}
	if d.pattern == patternPrefixed {
		return strings.HasPrefix(a.name, d.name)
	}
	return a.pattern == patternLiteral && a.name == d.name
}

// Filter returns the names among names on which p may perform op, in
// their order, in a new slice: Allow for each, with the principal's rules
// gathered once.
func (pol *Policy) Filter(p Principal, resource Resource, op Operation, names []string) []string {
	if _, ok := pol.superuser(p); ok {
		return slices.Clone(names)
	}
	if resource == ResourceTopic && op == OpCreate {
		if ok, _ := pol.decide(p, ResourceCluster, "", OpCreate); ok {
			return slices.Clone(names)
		}
	}
	out := make([]string, 0, len(names))
	if _, ok := operations[resource]; !ok {
		return out
	}
	rules := pol.candidates(p, resource)
	for _, n := range names {
		if _, ok := match(rules, n, op); ok {
			out = append(out, n)
		}
	}
	return out
}

// AuthorizerOptions configure NewAuthorizer. Zero fields take the defaults
// stated.
type AuthorizerOptions struct {
	// File is the policy file (see ParsePolicy). Required.
	File string
	// ReloadInterval is how often File is polled for changes. Default
	// watch.DefaultInterval; negative: never (call Reload).
	ReloadInterval time.Duration
	// Logger receives the reloads and their errors. Default: discard.
	Logger *slog.Logger
}

// Authorizer decides requests by the policy in a file, reloaded when the
// file changes; a version that does not parse leaves the last good one in
// force. It is safe for concurrent use.
type Authorizer struct {
	file   string
	log    *slog.Logger
	policy atomic.Pointer[Policy]
	watch  *watch.Watcher
}

// NewAuthorizer loads opts.File, failing if it does not parse, and starts
// a goroutine that polls it every opts.ReloadInterval until Close.
func NewAuthorizer(opts AuthorizerOptions) (*Authorizer, error) {
	if opts.File == "" {
		return nil, fmt.Errorf("authorization needs a policy file")
	}
	if opts.ReloadInterval == 0 {
		opts.ReloadInterval = watch.DefaultInterval
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	a := &Authorizer{file: opts.File, log: opts.Logger}
	w, err := watch.New([]string{opts.File}, opts.ReloadInterval, opts.Logger, func(files [][]byte) error { return a.load(files[0]) })
	if err != nil {
		return nil, err
	}
	a.watch = w
	return a, nil
}

func (a *Authorizer) load(data []byte) error {
	p, err := ParsePolicy(data)
	if err != nil {
		return err
	}
	a.policy.Store(p)
	a.log.Info("policy file loaded", "file", a.file)
	return nil
}

// Policy returns the policy in force.
func (a *Authorizer) Policy() *Policy { return a.policy.Load() }

// Allow is Policy().Allow: whether p may perform op on the resource called
// name, and why.
func (a *Authorizer) Allow(p Principal, resource Resource, name string, op Operation) (bool, string) {
	return a.Policy().Allow(p, resource, name, op)
}

// AllowAny is Policy().AllowAny: whether p may perform op on at least one
// resource of the kind.
func (a *Authorizer) AllowAny(p Principal, resource Resource, op Operation) bool {
	return a.Policy().AllowAny(p, resource, op)
}

// Filter is Policy().Filter: the names on which p may perform op.
func (a *Authorizer) Filter(p Principal, resource Resource, op Operation, names []string) []string {
	return a.Policy().Filter(p, resource, op, names)
}

// Reload checks the policy file now instead of waiting for the next poll,
// returning why it could not be used; the last good version stays in
// force then.
func (a *Authorizer) Reload() error { return a.watch.Check() }

// Err returns why the policy file's current contents could not be used,
// or nil when they are in force.
func (a *Authorizer) Err() error { return a.watch.Err() }

// Close stops polling the policy file.
func (a *Authorizer) Close() error {
	a.watch.Close()
	return nil
}
