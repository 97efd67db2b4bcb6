package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"krest/internal/kafkatest"
	"krest/internal/peer"
)

const (
	testClusterSecret = "0123456789abcdef0123456789abcdef"
	mediaJSONv2       = "application/vnd.kafka.json.v2+json"
	mediaV2           = "application/vnd.kafka.v2+json"
)

// roundRobin is a load balancer with no sticky sessions: each request
// goes to the next live node.
type roundRobin struct {
	mu    sync.Mutex
	nodes []*url.URL
	live  []bool
	next  int
}

func (rr *roundRobin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rr.mu.Lock()
	var target *url.URL
	for range rr.nodes {
		i := rr.next % len(rr.nodes)
		rr.next++
		if rr.live[i] {
			target = rr.nodes[i]
			break
		}
	}
	rr.mu.Unlock()
	if target == nil {
		http.Error(w, "no live node", http.StatusBadGateway)
		return
	}
	p := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(target)
		pr.Out.Host = pr.In.Host // the public host, as load balancers pass it
		pr.SetXForwarded()
	}, FlushInterval: -1}
	p.ServeHTTP(w, r)
}

// down takes node i out of the rotation, as a load balancer's health
// check does when the node dies.
func (rr *roundRobin) down(i int) {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	rr.live[i] = false
}

// krestCluster is nodes krest processes that forward to one another,
// behind a round-robin proxy.
type krestCluster struct {
	nodes []*krest
	names []string
	lb    *roundRobin
	proxy *krest // requests through the load balancer
}

func startKrestCluster(t *testing.T, brokers string, n int, args ...string) *krestCluster {
	t.Helper()
	kc := &krestCluster{lb: &roundRobin{}}
	var peers []string
	ports := make([]int, n)
	for i := range n {
		ports[i] = kafkatest.FreePort(t)
		kc.names = append(kc.names, fmt.Sprintf("node%d", i))
		peers = append(peers, fmt.Sprintf("%s=http://127.0.0.1:%d", kc.names[i], ports[i]))
	}
	for i := range n {
		k := startProcess(t, append([]string{"--brokers", brokers, "--consumer=false", "--http-addr", fmt.Sprintf("127.0.0.1:%d", ports[i]),
			"--node-id", kc.names[i], "--peers", strings.Join(peers, ","), "--cluster-secret", testClusterSecret}, args...)...)
		k.waitReady(t)
		u, _ := url.Parse(k.url)
		kc.nodes = append(kc.nodes, k)
		kc.lb.nodes = append(kc.lb.nodes, u)
		kc.lb.live = append(kc.lb.live, true)
	}
	srv := httptest.NewServer(kc.lb)
	t.Cleanup(srv.Close)
	kc.proxy = &krest{url: srv.URL}
	return kc
}

// consumerInstance is a v2 consumer instance a test client uses.
type consumerInstance struct {
	id, path string
	reads    int
}

// createInstance creates an instance of group through the load
// balancer, subscribed to topic unless it is "".
func (kc *krestCluster) createInstance(t *testing.T, group, topic string) *consumerInstance {
	t.Helper()
	status, body := kc.proxy.v2Do(t, "POST", "/consumers/"+group,
		`{"format":"json","auto.offset.reset":"earliest","auto.commit.enable":"false"}`)
	var created struct {
		InstanceID string `json:"instance_id"`
		BaseURI    string `json:"base_uri"`
	}
	if err := json.Unmarshal([]byte(body), &created); status != http.StatusOK || err != nil {
		t.Fatalf("create: %d %s", status, body)
	}
	path := "/consumers/" + group + "/instances/" + created.InstanceID
	if created.BaseURI != kc.proxy.url+path {
		t.Fatalf("base_uri %q, want the load balancer's %q", created.BaseURI, kc.proxy.url+path)
	}
	in := &consumerInstance{id: created.InstanceID, path: path}
	if topic != "" {
		kc.subscribe(t, in, topic)
	}
	return in
}

// subscribe subscribes in to topic through the load balancer.
func (kc *krestCluster) subscribe(t *testing.T, in *consumerInstance, topic string) {
	t.Helper()
	if status, body := kc.proxy.v2Do(t, "POST", in.path+"/subscription", `{"topics":["`+topic+`"]}`); status != http.StatusNoContent {
		t.Fatalf("subscribe %s: %d %s", in.id, status, body)
	}
}

// ownerIndex returns the index of the node whose name in.id carries.
func (kc *krestCluster) ownerIndex(t *testing.T, in *consumerInstance) int {
	t.Helper()
	for i, n := range kc.names {
		if strings.HasPrefix(in.id, "rest-consumer-"+n+"-") {
			return i
		}
	}
	t.Fatalf("instance %s names no node of %v", in.id, kc.names)
	return -1
}

// TestConsumersBehindLoadBalancer runs two and then three krest nodes
// behind a round-robin proxy: instances created through it are
// subscribed, read, committed and deleted through the other nodes; when
// one node is killed, its instances answer 40403, the clients create new
// ones, and every record of the topic is read, none skipped.
func TestConsumersBehindLoadBalancer(t *testing.T) {
	for _, n := range []int{2, 3} {
		t.Run(fmt.Sprintf("%d_nodes", n), func(t *testing.T) {
			c := kafkatest.NewCluster(t)
			kc := startKrestCluster(t, strings.Join(c.Brokers(), ","), n)
			const records = 600
			topic := "lb" + strconv.Itoa(n)
			cluster := kc.proxy.clusterID(t)
			if resp, body := kc.proxy.post(t, "/v3/clusters/"+cluster+"/topics", "application/json",
				`{"topic_name":"`+topic+`","partitions_count":6}`); resp.StatusCode != http.StatusCreated {
				t.Fatalf("create topic: %d %s", resp.StatusCode, body)
			}
			for from := 0; from < records; from += 100 {
				var b strings.Builder
				b.WriteString(`{"records":[`)
				for i := from; i < from+100; i++ {
					if i > from {
						b.WriteByte(',')
					}
					fmt.Fprintf(&b, `{"value":%d}`, i)
				}
				b.WriteString(`]}`)
				if resp, body := kc.proxy.post(t, "/topics/"+topic, mediaJSONv2, b.String()); resp.StatusCode != http.StatusOK {
					t.Fatalf("produce: %d %s", resp.StatusCode, body)
				}
			}

			group := "lb-group-" + strconv.Itoa(n)
			instances := make([]*consumerInstance, n)
			owners := map[int]bool{}
			for i := range instances {
				instances[i] = kc.createInstance(t, group, "")
				owners[kc.ownerIndex(t, instances[i])] = true
			}
			if len(owners) != n {
				t.Fatalf("%d instances on %d nodes, want one on each", n, len(owners))
			}
			for _, in := range instances {
				kc.subscribe(t, in, topic)
			}

			// A request another node signed with the secret, for an instance
			// a third node owns, is answered 40403 where it lands: not
			// forwarded again. One signed with another secret is refused.
			owner := kc.ownerIndex(t, instances[0])
			landing := (owner + 1) % n
			status, body := signedRequest(t, testClusterSecret, kc.names[landing], kc.nodes[landing].url, instances[0].path+"/subscription")
			if status != http.StatusNotFound || !strings.Contains(body, `"error_code":40403`) {
				t.Errorf("forwarded to a node that does not own it: %d %s, want 40403", status, body)
			}
			status, body = signedRequest(t, testClusterSecret, kc.names[owner], kc.nodes[owner].url, instances[0].path+"/subscription")
			if status != http.StatusOK {
				t.Errorf("forwarded to its owner: %d %s, want 200", status, body)
			}
			status, body = signedRequest(t, "another secret, thirty-two bytes!", kc.names[owner], kc.nodes[owner].url, instances[0].path+"/subscription")
			if status != http.StatusUnauthorized {
				t.Errorf("forged forwarded request: %d %s, want 401", status, body)
			}

			seen := map[int]int{}
			var read, notFound atomic.Int64
			retried := 0
			readOnce := func(in *consumerInstance) (int, string) {
				in.reads++
				status, body := kc.proxy.v2Do(t, "GET", in.path+"/records?timeout=500&max_bytes=100", "",
					"Accept", mediaJSONv2, "X-Krest-Read-Id", in.id+"-"+strconv.Itoa(in.reads))
				if status != http.StatusOK {
					return status, body
				}
				var recs []struct{ Value int }
				if err := json.Unmarshal([]byte(body), &recs); err != nil {
					t.Fatalf("records of %s: %v: %s", in.id, err, body)
				}
				for _, r := range recs {
					seen[r.Value]++
					read.Add(1)
				}
				if status, body := kc.proxy.v2Do(t, "POST", in.path+"/offsets", ""); status != http.StatusOK {
					return status, body
				}
				return http.StatusOK, ""
			}

			// Read through the load balancer until about half is read, then
			// kill the node of the first instance.
			kafkatest.WaitFor(t, 2*time.Minute, func() error {
				for _, in := range instances {
					if status, body := readOnce(in); status != http.StatusOK {
						t.Fatalf("read %s: %d %s", in.id, status, body)
					}
				}
				if len(seen) < records/2 {
					return fmt.Errorf("%d of %d records read", len(seen), records)
				}
				return nil
			})
			victim := kc.ownerIndex(t, instances[0])
			kc.nodes[victim].kill()
			kc.lb.down(victim)
			t.Logf("killed %s after %d records read", kc.names[victim], len(seen))

			kafkatest.WaitFor(t, 3*time.Minute, func() error {
				for i, in := range instances {
					status, body := readOnce(in)
					switch {
					case status == http.StatusNotFound && strings.Contains(body, `"error_code":40403`):
						if kc.ownerIndex(t, in) != victim {
							t.Fatalf("instance %s of a live node not found: %s", in.id, body)
						}
						notFound.Add(1)
						instances[i] = kc.createInstance(t, group, topic)
					case status == http.StatusServiceUnavailable || status == http.StatusConflict:
						// The group rebalancing after the kill: asked again.
						retried++
					case status != http.StatusOK:
						t.Fatalf("read %s: %d %s", in.id, status, body)
					}
				}
				if len(seen) < records {
					return fmt.Errorf("%d of %d records read", len(seen), records)
				}
				return nil
			})
			if notFound.Load() == 0 {
				t.Error("no instance of the killed node answered 40403")
			}
			skipped, duplicates := 0, 0
			for i := range records {
				switch n := seen[i]; {
				case n == 0:
					skipped++
				case n > 1:
					duplicates += n - 1
				}
			}
			t.Logf("%d nodes, %s killed: records produced %d, read %d, duplicates %d, skipped %d; %d answers 40403, %d asked again (503 or 409 while the group rebalanced)",
				n, kc.names[victim], records, read.Load(), duplicates, skipped, notFound.Load(), retried)
			if skipped != 0 {
				t.Errorf("%d records skipped", skipped)
			}

			for _, in := range instances {
				if status, body := kc.proxy.v2Do(t, "DELETE", in.path, ""); status != http.StatusNoContent {
					t.Errorf("delete %s: %d %s", in.id, status, body)
				}
			}
		})
	}
}

// signedRequest sends GET path to the node at base as a forwarded request
// signed with secret, and returns the answer.
func signedRequest(t *testing.T, secret, node, base, path string) (int, string) {
	t.Helper()
	cl, err := peer.New(peer.Options{Node: "signer", Static: map[string]string{node: base}, Secret: []byte(secret)})
	if err != nil {
		t.Fatal(err)
	}
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(path)
	req.Header.SetHost(strings.TrimPrefix(base, "http://"))
	if err := cl.Forward(node, req, resp); err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.BodyStream())
	_ = resp.CloseBodyStream()
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode(), string(body)
}

// TestChosenNamesBehindLoadBalancer creates an instance under a name its
// client chose: every node finds it, and the name is taken on every node
// until the instance is deleted.
func TestChosenNamesBehindLoadBalancer(t *testing.T) {
	c := kafkatest.NewCluster(t)
	kc := startKrestCluster(t, strings.Join(c.Brokers(), ","), 2, "--consumer-instance-timeout", "5s")
	const create = `{"name":"chosen","format":"json"}`
	if status, body := kc.proxy.v2Do(t, "POST", "/consumers/named", create); status != http.StatusOK {
		t.Fatalf("create: %d %s", status, body)
	}
	const path = "/consumers/named/instances/chosen"
	for i := range 2 { // through each node in turn
		if status, body := kc.proxy.v2Do(t, "POST", path+"/subscription", `{"topics":["messages"]}`); status != http.StatusNoContent {
			t.Fatalf("subscribe %d: %d %s", i, status, body)
		}
	}
	for i := range 2 {
		if status, body := kc.proxy.v2Do(t, "POST", "/consumers/named", create); status != http.StatusConflict || !strings.Contains(body, `"error_code":40902`) {
			t.Fatalf("create the name again (%d): %d %s, want 409 40902", i, status, body)
		}
	}
	if status, body := kc.proxy.v2Do(t, "DELETE", path, ""); status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", status, body)
	}
	createAgain := func(after string) {
		t.Helper()
		kafkatest.WaitFor(t, 30*time.Second, func() error {
			status, body := kc.proxy.v2Do(t, "POST", "/consumers/named", create)
			if status != http.StatusOK {
				return fmt.Errorf("create after %s: %d %s", after, status, body)
			}
			return nil
		})
	}
	createAgain("the delete")
	// Left unused, the instance expires, and its name is free again.
	createAgain("the instance expired")
}
