package queue

import (
	"context"
	"fmt"
	"slices"
	"strconv"
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

// autoOffsetReset is the group config Options.AutoOffsetReset sets.
const autoOffsetReset = "share.auto.offset.reset"

// maxConfiguredGroups bounds the groups remembered as configured; past
// it, the memory starts over (configuring a group again is harmless).
const maxConfiguredGroups = 10000

// configure sets group's share.auto.offset.reset to
// Options.AutoOffsetReset unless the group sets it already, once per
// group. A failure is logged and leaves the brokers' default (latest).
func (m *Manager) configure(ctx context.Context, group string) {
	m.supportMu.Lock()
	done := m.configured[group]
	m.supportMu.Unlock()
	if done {
		return
	}
	if err := m.setOffsetReset(ctx, group); err != nil {
		m.opts.Logger.Warn("share group's offset reset not set", "group", group, autoOffsetReset, m.opts.AutoOffsetReset, "err", err)
		return
	}
	m.supportMu.Lock()
	if len(m.configured) >= maxConfiguredGroups {
		clear(m.configured)
	}
	m.configured[group] = true
	m.supportMu.Unlock()
}

// setOffsetReset sets group's share.auto.offset.reset, unless it is set.
func (m *Manager) setOffsetReset(ctx context.Context, group string) error {
	describe := kmsg.NewPtrDescribeConfigsRequest()
	res := kmsg.NewDescribeConfigsRequestResource()
	res.ResourceType, res.ResourceName, res.ConfigNames = kmsg.ConfigResourceTypeGroupConfig, group, []string{autoOffsetReset}
	describe.Resources = append(describe.Resources, res)
	described, err := describe.RequestWith(ctx, m.opts.Admin)
	if err != nil {
		return err
	}
	for _, r := range described.Resources {
		if err := kerr.ErrorForCode(r.ErrorCode); err != nil {
			return err
		}
		for _, c := range r.Configs {
			if c.Name == autoOffsetReset && c.Source == kmsg.ConfigSourceGroupConfig {
				return nil
			}
		}
	}
	alter := kmsg.NewPtrIncrementalAlterConfigsRequest()
	ar := kmsg.NewIncrementalAlterConfigsRequestResource()
	ar.ResourceType, ar.ResourceName = kmsg.ConfigResourceTypeGroupConfig, group
	c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
	c.Name, c.Op, c.Value = autoOffsetReset, kmsg.IncrementalAlterConfigOpSet, &m.opts.AutoOffsetReset
	ar.Configs = append(ar.Configs, c)
	alter.Resources = append(alter.Resources, ar)
	altered, err := alter.RequestWith(ctx, m.opts.Admin)
	if err != nil {
		return err
	}
	for _, r := range altered.Resources {
		if err := kerr.ErrorForCode(r.ErrorCode); err != nil {
			return err
		}
	}
	return nil
}
