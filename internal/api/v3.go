package api

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// API v3 of Confluent REST Proxy, served under /v3, one file per
// resource: v3_clusters.go (clusters and brokers), v3_topics.go,
// v3_configs.go, v3_partitions.go, v3_groups.go, and the produce routes
// v3_records.go, v3_stream.go and v3_batch.go. Answers follow upstream's
// OpenAPI document field by field, nulls included: every resource carries
// kind, metadata.self, its CRN as metadata.resource_name and related links;
// every list carries metadata.next (null but past a page of a long list).
// This file holds what they share.

// checkCluster fails unless c's cluster id is the id the brokers report;
// the frame runs it for every v3 route with a {cluster_id}.
func checkCluster(c *call) error {
	id, err := c.adm.ClusterID(c.context())
	if err != nil {
		return err
	}
	if id != c.cluster {
		return clusterNotFound(c.cluster)
	}
	return nil
}

// clusterNotFound is upstream's answer to an unknown cluster id.
func clusterNotFound(id string) error {
	return &apiError{http.StatusNotFound, http.StatusNotFound, fmt.Sprintf("Cluster %s cannot be found.", id)}
}

// v3Meta is the metadata of a v3 resource.
type v3Meta struct {
	Self         string `json:"self"`
	ResourceName string `json:"resource_name"`
}

// v3ListMeta is the metadata of a v3 list.
type v3ListMeta struct {
	Self string  `json:"self"`
	Next *string `json:"next"` // always null
}

// v3Rel is a link to a related resource.
type v3Rel struct {
	Related string `json:"related"`
}

// v3List is a v3 collection.
type v3List[T any] struct {
	Kind     string     `json:"kind"`
	Metadata v3ListMeta `json:"metadata"`
	Data     []T        `json:"data"`
}

// advertisedBase checks an advertised URL setting and returns it without
// a trailing slash.
func advertisedBase(u string) (string, error) {
	if u == "" {
		return "", nil
	}
	parsed, err := url.Parse(u)
	if err != nil || (parsed.Scheme != "http" && parsed.Scheme != "https") || parsed.Host == "" ||
		parsed.RawQuery != "" || parsed.Fragment != "" || parsed.User != nil {
		return "", fmt.Errorf("advertised URL %q must be http:// or https:// and a host, with an optional port and path", u)
	}
	return strings.TrimSuffix(u, "/"), nil
}

// baseURL is the scheme, host and optional path every link of an answer to
// c starts with: the advertised URL when set; else the host c was sent to
// (as upstream builds links with no advertised listener), when its Host
// header is a well-formed host and port; else the address it reached. The
// scheme is the caller's, which a peer that forwarded c tells.
func (c *call) baseURL() string {
	if base := c.srv.opts.AdvertisedURL; base != "" {
		return base
	}
	scheme := "http://"
	if c.fctx.IsTLS() || c.forwarded && c.header("X-Forwarded-Proto") == "https" {
		scheme = "https://"
	}
	host := c.fctx.Host()
	if !validHost(host) {
		return scheme + c.fctx.LocalAddr().String()
	}
	return scheme + string(host)
}

// validHost reports whether h is a host name, an IPv4 address or a
// bracketed IPv6 address, with an optional port: nothing a link could be
// bent with.
func validHost(h []byte) bool {
	if len(h) == 0 || len(h) > 255 {
		return false
	}
	for _, b := range h {
		if !('a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || b == '.' || b == '-' || b == ':' || b == '[' || b == ']') {
			return false
		}
	}
	return true
}

// link returns the URL of a resource of c's cluster:
// <base>/v3/clusters/<cluster id>/<segments>, each segment escaped and empty
// ones left out, as upstream's UrlFactory builds it.
func (c *call) link(segments ...string) string {
	var b strings.Builder
	b.WriteString(c.baseURL())
	for _, s := range append([]string{"v3", "clusters", c.cluster}, segments...) {
		if s != "" {
			b.WriteByte('/')
			b.WriteString(url.PathEscape(s))
		}
	}
	return b.String()
}

// rel returns a link to a resource of c's cluster.
func (c *call) rel(segments ...string) v3Rel { return v3Rel{c.link(segments...)} }

// crn returns a resource's name in upstream's CRN form with an empty
// authority: crn:///kafka=<cluster id>/<type>=<id>/…, from type, id pairs;
// a last type without an id stands alone.
func (c *call) crn(pairs ...string) string {
	var b strings.Builder
	b.WriteString("crn:///kafka=" + c.cluster)
	for i := 0; i < len(pairs); i += 2 {
		b.WriteString("/" + pairs[i])
		if i+1 < len(pairs) {
			b.WriteString("=" + pairs[i+1])
		}
	}
	return b.String()
}

// v3ListOf returns a v3 list of kind whose self link is link(self...).
func v3ListOf[T any](c *call, kind string, data []T, self ...string) v3List[T] {
	if data == nil {
		data = []T{}
	}
	return v3List[T]{Kind: kind, Metadata: v3ListMeta{Self: c.link(self...)}, Data: data}
}

// Paged lists (topics, consumer groups, all topic configs) hold at most
// admin's MaxListItems items; a longer one says where it goes on in
// metadata.next: its self link with ?page_token=<the last item's key>.

// pageToken returns the request's page_token, where its page starts ("" for
// the first), which must be a valid key by valid.
func (c *call) pageToken(valid func(string) error) (string, error) {
	token := c.query("page_token")
	if token == "" {
		return "", nil
	}
	if err := valid(token); err != nil {
		return "", &apiError{http.StatusBadRequest, codeInvalidField, "page_token is not valid: " + err.Error()}
	}
	return token, nil
}

// v3PageOf is v3ListOf for one page of a longer list, whose next page
// starts after next ("" on the last page).
func v3PageOf[T any](c *call, kind string, data []T, next string, self ...string) v3List[T] {
	l := v3ListOf(c, kind, data, self...)
	if next != "" {
		link := l.Metadata.Self + "?page_token=" + url.QueryEscape(next)
		l.Metadata.Next = &link
	}
	return l
}

// itoa formats an id for links and CRNs.
func itoa(n int32) string { return strconv.Itoa(int(n)) }
