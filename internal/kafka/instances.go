package kafka

import "github.com/twmb/franz-go/pkg/kgo"

// NewClient returns a client with opts' seeds, identity, security, logger
// and hooks, and extra after them: the client of a consumer instance,
// whose own options (group, topics, offsets) its owner gives.
func NewClient(opts Options, extra ...kgo.Opt) (*kgo.Client, error) {
	return kgo.NewClient(append(baseOpts(opts), extra...)...)
}
