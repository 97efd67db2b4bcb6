package queue

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"krest/internal/kafka"
)

// support is what the brokers serve of share groups.
type support struct {
	// renew: locks can be extended (KIP-1222, Kafka 4.2 and later).
	renew bool
	// maxDeliveries is Options.MaxDeliveries, lowered to the brokers'
	// group.share.delivery.count.limit when that is lower.
	maxDeliveries int
}

// recheckUnsupported is how soon brokers found without share groups are
// asked again (an upgrade needs no restart of krest).
const recheckUnsupported = time.Minute

// support returns what the brokers serve, asking them once (and again
// after recheckUnsupported while they serve no share groups): ErrUnsupported
// when they do not.
func (m *Manager) support(ctx context.Context) (support, error) {
	m.supportMu.Lock()
	defer m.supportMu.Unlock()
	if m.supported != nil {
		return *m.supported, nil
	}
	if m.unsupported != nil && time.Since(m.checked) < recheckUnsupported {
		return support{}, m.unsupported
	}
	sup, err := m.askSupport(ctx)
	switch {
	case err == nil:
		m.supported = &sup
		if sup.maxDeliveries < m.opts.MaxDeliveries {
			m.opts.Logger.Warn("share-group deliveries lowered to the brokers' limit",
				"max_deliveries", m.opts.MaxDeliveries, "group.share.delivery.count.limit", sup.maxDeliveries)
		}
	case kafka.Classify(err) == nil: // ErrUnsupported
		m.unsupported, m.checked = err, time.Now()
	}
	return sup, err
}

// The share-group requests a member sends.
var shareKeys = []int16{
	kmsg.ShareGroupHeartbeat.Int16(),
	kmsg.ShareFetch.Int16(),
	kmsg.ShareAcknowledge.Int16(),
}

// askSupport asks a broker for its versions, and the brokers for their
// delivery limit.
func (m *Manager) askSupport(ctx context.Context) (support, error) {
	req := kmsg.NewPtrApiVersionsRequest()
	req.ClientSoftwareName, req.ClientSoftwareVersion = "krest", "1"
	resp, err := req.RequestWith(ctx, m.opts.Admin)
	if err == nil {
		err = kerr.ErrorForCode(resp.ErrorCode)
	}
	if err != nil {
		return support{}, kafka.Wrap(fmt.Errorf("asking the brokers' versions: %w", err))
	}
	versions := map[int16]int16{}
	for _, k := range resp.ApiKeys {
		versions[k.ApiKey] = k.MaxVersion
	}
	for _, k := range shareKeys {
		if _, ok := versions[k]; !ok {
			return support{}, fmt.Errorf("%w: the brokers do not serve %s", ErrUnsupported, kmsg.NameForKey(k))
		}
	}
	// A broker that knows the feature and has not finalized it serves no
	// share group, though it lists their requests.
	known := slices.ContainsFunc(resp.SupportedFeatures, func(f kmsg.ApiVersionsResponseSupportedFeature) bool { return f.Name == "share.version" })
	on := slices.ContainsFunc(resp.FinalizedFeatures, func(f kmsg.ApiVersionsResponseFinalizedFeature) bool {
		return f.Name == "share.version" && f.MaxVersionLevel >= 1
	})
	if known && !on {
		return support{}, fmt.Errorf("%w: share.version is not enabled on the cluster", ErrUnsupported)
	}
	sup := support{
		renew:         versions[kmsg.ShareFetch.Int16()] >= 2 && versions[kmsg.ShareAcknowledge.Int16()] >= 2,
		maxDeliveries: m.opts.MaxDeliveries,
	}
	limit, err := m.deliveryLimit(ctx)
	if err != nil {
		return support{}, err
	}
	if limit > 0 && limit < sup.maxDeliveries {
		sup.maxDeliveries = limit
	}
	return sup, nil
}

// deliveryLimit returns the brokers' group.share.delivery.count.limit, 0
// when they do not say.
func (m *Manager) deliveryLimit(ctx context.Context) (int, error) {
	rs, err := kadm.NewClient(m.opts.Admin).DescribeBrokerConfigs(ctx)
	if err != nil {
		return 0, kafka.Wrap(fmt.Errorf("describing the brokers' configs: %w", err))
	}
	for _, r := range rs {
		if r.Err != nil {
			continue
		}
		for _, c := range r.Configs {
			if c.Key == "group.share.delivery.count.limit" && c.Value != nil {
				if n, err := strconv.Atoi(*c.Value); err == nil {
					return n, nil
				}
			}
		}
	}
	return 0, nil
}

// The group configs krest sets on the groups its members join, unless a
// group sets them itself.
const (
	configOffsetReset  = "share.auto.offset.reset"
	configLockDuration = "share.record.lock.duration.ms"
)

// groupDefaults returns the group configs Options ask for.
func (m *Manager) groupDefaults() map[string]string {
	d := map[string]string{configOffsetReset: m.opts.AutoOffsetReset}
	if m.opts.LockDuration > 0 {
		d[configLockDuration] = strconv.FormatInt(m.opts.LockDuration.Milliseconds(), 10)
	}
	return d
}

// maxRemembered bounds the groups remembered as configured, and the
// dead-letter topics remembered as made; past it, the memory starts over
// (doing either again is harmless).
const maxRemembered = 10000

// names is a set of names some work was done for once, of at most
// maxRemembered; its zero value is empty.
type names struct {
	mu   sync.Mutex
	seen map[string]bool
}

// has reports whether name is in n.
func (n *names) has(name string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.seen[name]
}

// add puts name in n, first emptying n when it is full.
func (n *names) add(name string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.seen == nil || len(n.seen) >= maxRemembered {
		n.seen = map[string]bool{}
	}
	n.seen[name] = true
}

// configure gives group the configs of groupDefaults it does not set
// itself, once per group. A failure is logged and leaves the brokers'
// defaults (share.auto.offset.reset latest).
func (m *Manager) configure(ctx context.Context, group string) {
	if m.configured.has(group) {
		return
	}
	if err := m.setGroupDefaults(ctx, group); err != nil {
		m.opts.Logger.Warn("share group's configs not set", "group", group, "configs", m.groupDefaults(), "err", err)
		return
	}
	m.configured.add(group)
}

// setGroupDefaults sets the configs of groupDefaults that group does not
// set.
func (m *Manager) setGroupDefaults(ctx context.Context, group string) error {
	want := m.groupDefaults()
	describe := kmsg.NewPtrDescribeConfigsRequest()
	res := kmsg.NewDescribeConfigsRequestResource()
	res.ResourceType, res.ResourceName = kmsg.ConfigResourceTypeGroupConfig, group
	for name := range want {
		res.ConfigNames = append(res.ConfigNames, name)
	}
	describe.Resources = append(describe.Resources, res)
	described, err := describe.RequestWith(ctx, m.opts.Admin)
	if err != nil {
		return err
	}
	for _, r := range described.Resources {
		if err := resourceErr(r.ErrorCode, r.ErrorMessage); err != nil {
			return err
		}
		for _, c := range r.Configs {
			if c.Source == kmsg.ConfigSourceGroupConfig {
				delete(want, c.Name)
			}
		}
	}
	// One request a config, so that one the brokers refuse (a lock out of
	// their bounds) does not keep the others from being set.
	var errs []error
	for name, value := range want {
		if err := m.setGroupConfig(ctx, group, name, value); err != nil {
			errs = append(errs, fmt.Errorf("%s=%s: %w", name, value, err))
		}
	}
	return errors.Join(errs...)
}

// setGroupConfig sets group's config name to value.
func (m *Manager) setGroupConfig(ctx context.Context, group, name, value string) error {
	alter := kmsg.NewPtrIncrementalAlterConfigsRequest()
	ar := kmsg.NewIncrementalAlterConfigsRequestResource()
	ar.ResourceType, ar.ResourceName = kmsg.ConfigResourceTypeGroupConfig, group
	c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
	c.Name, c.Op, c.Value = name, kmsg.IncrementalAlterConfigOpSet, &value
	ar.Configs = append(ar.Configs, c)
	alter.Resources = append(alter.Resources, ar)
	altered, err := alter.RequestWith(ctx, m.opts.Admin)
	if err != nil {
		return err
	}
	for _, r := range altered.Resources {
		if err := resourceErr(r.ErrorCode, r.ErrorMessage); err != nil {
			return err
		}
	}
	return nil
}

// resourceErr is the error of a config resource's answer, with the
// brokers' message: nil for code 0.
func resourceErr(code int16, msg *string) error {
	err := kerr.ErrorForCode(code)
	if err != nil && msg != nil {
		return fmt.Errorf("%w: %s", err, *msg)
	}
	return err
}
