package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"

	"krest/internal/admin"
	"krest/internal/api"
	"krest/internal/auth"
	"krest/internal/auth/authtest"
	"krest/internal/config"
	"krest/internal/kafka"
	"krest/internal/kafkatest"
	"krest/internal/metrics"
	"krest/internal/produce"
)

// identityPolicy is the local authorization file of the identity tests:
// alice may use a and her alice- topics, as the brokers' ACLs let her
// (grantKafkaACLs), and b, which the brokers do not let her; c the
// brokers let her use and this file does not; d is nobody's.
const identityPolicy = `superusers: [User:admin]
rules:
  - {principal: User:alice, permission: allow, resource: topic, name: a, operations: [write, alter_configs, describe]}
  - {principal: User:alice, permission: allow, resource: topic, pattern: prefixed, name: alice-, operations: [create, delete, describe]}
  - {principal: User:alice, permission: allow, resource: topic, name: b, operations: [write, alter_configs, delete, describe]}
  - {principal: User:alice, permission: allow, resource: topic, pattern: prefixed, name: b-, operations: [create]}
`

// grantKafkaACLs gives alice, at the brokers, what the policy gives her
// on a and her alice- topics, and c and c- topics, which the policy does
// not give her.
func grantKafkaACLs(t *testing.T, adm *kadm.Client) {
	t.Helper()
	for _, b := range []*kadm.ACLBuilder{
		kadm.NewACLs().Allow("User:alice").AllowHosts().Topics("a").Operations(kadm.OpWrite, kadm.OpAlterConfigs),
		kadm.NewACLs().Allow("User:alice").AllowHosts().Topics("alice-").ResourcePatternType(kadm.ACLPatternPrefixed).
			Operations(kadm.OpCreate, kadm.OpDelete, kadm.OpDescribe),
		kadm.NewACLs().Allow("User:alice").AllowHosts().Topics("c").Operations(kadm.OpWrite, kadm.OpAlterConfigs, kadm.OpDelete),
		kadm.NewACLs().Allow("User:alice").AllowHosts().Topics("c-").ResourcePatternType(kadm.ACLPatternPrefixed).Operations(kadm.OpCreate),
	} {
		res, err := adm.CreateACLs(context.Background(), b)
		if err == nil {
			for _, r := range res {
				err = r.Err
			}
		}
		if err != nil {
			t.Fatalf("creating ACLs: %v", err)
		}
	}
}

// identityEnv is krest's HTTP API with Basic callers (alice, bob and
// carol, each with password <name>-pw), wired from the settings args as
// run wires them, in front of a cluster that checks ACLs.
type identityEnv struct {
	adm     *kadm.Client // as krest, the brokers' superuser
	cluster string
	m       *metrics.Metrics
	serve   func(topic string) string // the URL of an API whose seed route produces to topic
	// authorization is the Authorization header of user's requests:
	// Basic with its password, unless set.
	authorization func(user string) string

	mu   sync.Mutex
	urls map[string]string
}

// newIdentityEnv starts an identityEnv with the settings args on a kfake
// that requires SCRAM-SHA-512 over TLS and checks ACLs, alice and bob its
// users (carol is not); its topics a, b, c, d and alice-old exist.
func newIdentityEnv(t *testing.T, args ...string) *identityEnv {
	t.Helper()
	f, _ := kafkatest.NewSecureFake(t, kafka.MechanismScramSHA512, kfake.EnableACLs(),
		kfake.User(kafka.MechanismScramSHA512, "alice", "alice-pw"), kfake.User(kafka.MechanismScramSHA512, "bob", "bob-pw"))
	return startIdentityEnv(t, f.Brokers(), nil, args...)
}

// startIdentityEnv starts an identityEnv on brokers, its API's security
// changed by secure if set, and creates the topics a, b, c, d and
// alice-old.
func startIdentityEnv(t *testing.T, brokers []string, secure func(*api.Security), args ...string) *identityEnv {
	t.Helper()
	users := authtest.UsersFile(t, "alice", "alice-pw", "bob", "bob-pw", "carol", "carol-pw")
	policy := filepath.Join(t.TempDir(), "authz.yaml")
	if err := os.WriteFile(policy, []byte(identityPolicy), 0o600); err != nil {
		t.Fatal(err)
	}
	args = append([]string{"--brokers", strings.Join(brokers, ","), "--http-addr", "127.0.0.1:0",
		"--auth", "basic", "--auth-basic-users-file", users}, args...)
	if !slices.Contains(args, "kafka") { // the local rules, unless the brokers decide alone
		args = append(args, "--authz-file", policy)
	}
	cfg, err := config.Load("krest", withSecurity(t, args),
		func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	security, err := kafka.NewSecurity(kafkaSecurity(cfg), nil)
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	m := metrics.New()
	pcl, err := kafka.NewProducerClient(produce.ClientOptions(kafka.ProducerOptions{
		Options: kafka.Options{Brokers: cfg.Brokers, Security: security}, MaxBufferedRecords: 1000, MaxBufferedBytes: 1 << 20}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pcl.Close)
	ids, err := newIdentities(cfg, cfg.Brokers, security, logger, m, logger)
	if err != nil {
		t.Fatal(err)
	}
	basic, err := auth.NewBasic(auth.BasicOptions{File: cfg.AuthBasicUsersFile, ReloadInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { basic.Close() })
	sec := api.Security{Basic: basic}
	if cfg.LocalAuthz() {
		az, err := auth.NewAuthorizer(auth.AuthorizerOptions{File: cfg.AuthzFile, ReloadInterval: -1})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { az.Close() })
		sec.Authorizer = az
	}
	if ids != nil {
		t.Cleanup(ids.Close) // after the servers' drain
		sec.Identities = ids
	}
	if secure != nil {
		secure(&sec)
	}
	e := &identityEnv{adm: kadm.NewClient(kafkatest.NewClient(t, brokers)), m: m, urls: map[string]string{}}
	e.serve = func(topic string) string {
		e.mu.Lock()
		defer e.mu.Unlock()
		if u, ok := e.urls[topic]; ok {
			return u
		}
		srv, err := api.NewServer(api.Options{Logger: logger, Metrics: m, Producer: produce.New(pcl, produce.Options{Timeout: 5 * time.Second}),
			Admin: admin.New(pcl), Topic: topic, APIV2: true, APIV3: true, CallTimeout: 5 * time.Second, Security: sec})
		if err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go func() { _ = srv.Serve(ln) }()
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(ctx)
		})
		e.urls[topic] = "http://" + ln.Addr().String()
		return e.urls[topic]
	}
	res, err := e.adm.CreateTopics(context.Background(), 1, -1, nil, "a", "b", "c", "d", "alice-old")
	if err == nil {
		err = res.Error()
	}
	if err != nil {
		t.Fatal(err)
	}
	meta, err := e.adm.BrokerMetadata(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	e.cluster = meta.Cluster
	return e
}

// do sends a request as user (password <user>-pw) to the API whose seed
// route produces to messages, and returns the status and body.
func (e *identityEnv) do(t *testing.T, user, method, path, body string) (int, string) {
	t.Helper()
	return e.doAt(t, e.serve("messages"), user, method, path, body)
}

func (e *identityEnv) doAt(t *testing.T, base, user, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, base+strings.ReplaceAll(path, "{cluster}", e.cluster), strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	authorization := "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+user+"-pw"))
	if e.authorization != nil {
		authorization = e.authorization(user)
	}
	req.Header.Set("Authorization", authorization)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// produceAs posts a message to the seed route of topic as user.
func (e *identityEnv) produceAs(t *testing.T, user, topic string) (int, string) {
	t.Helper()
	return e.doAt(t, e.serve(topic), user, "POST", "/api/messages", `{"id":"1","content":"x"}`)
}

// topicNames returns the names a topic listing answered.
func topicNames(t *testing.T, body string) []string {
	t.Helper()
	var list struct {
		Data []struct {
			TopicName string `json:"topic_name"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &list); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	var names []string
	for _, d := range list.Data {
		names = append(names, d.TopicName)
	}
	slices.Sort(names)
	return names
}

// setSCRAM creates or changes user's SCRAM-SHA-512 password at the
// brokers.
func setSCRAM(t *testing.T, adm *kadm.Client, user, password string) {
	t.Helper()
	res, err := adm.AlterUserSCRAMs(context.Background(), nil,
		[]kadm.UpsertSCRAM{{User: user, Mechanism: kadm.ScramSha512, Iterations: 4096, Password: password}})
	if err == nil {
		err = res.Error()
	}
	if err != nil {
		t.Fatal(err)
	}
}

// metric returns the value of the metric line that starts with name.
func (e *identityEnv) metric(t *testing.T, name string) string {
	t.Helper()
	var b strings.Builder
	if err := e.m.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(b.String(), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return v
		}
	}
	return "0"
}

// TestAuthzModes runs alice's operations under each authorization mode:
// local rules acting as krest (KREST_KAFKA_IDENTITY=service), the brokers
// alone acting as alice (kafka, passthrough), and both. Topic a she may
// use by the local rules and at the brokers, b by the local rules only, c
// at the brokers only, d nowhere.
func TestAuthzModes(t *testing.T) {
	type want struct{ local, kafka, both int }
	for _, mode := range []struct {
		name string
		args []string
	}{
		{"local", []string{"--authz-mode", "local"}},
		{"kafka", []string{"--authz-mode", "kafka", "--kafka-identity", "passthrough"}},
		{"both", []string{"--authz-mode", "both", "--kafka-identity", "passthrough"}},
	} {
		t.Run(mode.name, func(t *testing.T) {
			e := newIdentityEnv(t, mode.args...)
			grantKafkaACLs(t, e.adm)
			pick := func(w want) int {
				return map[string]int{"local": w.local, "kafka": w.kafka, "both": w.both}[mode.name]
			}
			// Listings: what alice may see; bob, with no rule and no
			// ACL, is refused a listing by the local rules, and shown
			// nothing by the brokers.
			status, body := e.do(t, "alice", "GET", "/v3/clusters/{cluster}/topics", "")
			wantNames := map[string]string{"local": "a,alice-old,b", "kafka": "a,alice-old,c", "both": "a,alice-old"}[mode.name]
			if status != http.StatusOK || strings.Join(topicNames(t, body), ",") != wantNames {
				t.Errorf("alice lists topics: %d %v, want 200 [%s]", status, body, wantNames)
			}
			t.Logf("%-6s %-18s %d %v", mode.name, "list topics", status, topicNames(t, body))
			status, body = e.do(t, "bob", "GET", "/v3/clusters/{cluster}/topics", "")
			if w := pick(want{403, 200, 403}); status != w || (w == 200 && len(topicNames(t, body)) != 0) {
				t.Errorf("bob lists topics: %d %s, want %d and nothing", status, body, w)
			}
			t.Logf("%-6s %-18s %d", mode.name, "list topics (bob)", status)

			for _, tt := range []struct {
				name               string
				topic              string // produce to it on the seed route, if set
				method, path, body string
				want               want
			}{
				{name: "produce to a", topic: "a", want: want{201, 201, 201}},
				{name: "produce to b", topic: "b", want: want{201, 403, 403}},
				{name: "produce to c", topic: "c", want: want{403, 201, 403}},
				{name: "produce to d", topic: "d", want: want{403, 403, 403}},
				{name: "alter a config", method: "PUT", path: "/v3/clusters/{cluster}/topics/a/configs/retention.ms", body: `{"value":"60000"}`, want: want{204, 204, 204}},
				{name: "alter b config", method: "PUT", path: "/v3/clusters/{cluster}/topics/b/configs/retention.ms", body: `{"value":"60000"}`, want: want{204, 403, 403}},
				{name: "alter c config", method: "PUT", path: "/v3/clusters/{cluster}/topics/c/configs/retention.ms", body: `{"value":"60000"}`, want: want{403, 204, 403}},
				{name: "alter d config", method: "PUT", path: "/v3/clusters/{cluster}/topics/d/configs/retention.ms", body: `{"value":"60000"}`, want: want{403, 403, 403}},
				{name: "create alice-new", method: "POST", path: "/v3/clusters/{cluster}/topics", body: `{"topic_name":"alice-new","partitions_count":1}`, want: want{201, 201, 201}},
				{name: "create b-new", method: "POST", path: "/v3/clusters/{cluster}/topics", body: `{"topic_name":"b-new","partitions_count":1}`, want: want{201, 403, 403}},
				{name: "create c-new", method: "POST", path: "/v3/clusters/{cluster}/topics", body: `{"topic_name":"c-new","partitions_count":1}`, want: want{403, 201, 403}},
				{name: "create d-new", method: "POST", path: "/v3/clusters/{cluster}/topics", body: `{"topic_name":"d-new","partitions_count":1}`, want: want{403, 403, 403}},
				{name: "delete alice-old", method: "DELETE", path: "/v3/clusters/{cluster}/topics/alice-old", want: want{204, 204, 204}},
				{name: "delete b", method: "DELETE", path: "/v3/clusters/{cluster}/topics/b", want: want{204, 403, 403}},
				{name: "delete c", method: "DELETE", path: "/v3/clusters/{cluster}/topics/c", want: want{403, 204, 403}},
				{name: "delete d", method: "DELETE", path: "/v3/clusters/{cluster}/topics/d", want: want{403, 403, 403}},
			} {
				var status int
				var body string
				if tt.topic != "" {
					status, body = e.produceAs(t, "alice", tt.topic)
				} else {
					status, body = e.do(t, "alice", tt.method, tt.path, tt.body)
				}
				w := pick(tt.want)
				if status != w {
					t.Errorf("%s: %d %s, want %d", tt.name, status, body, w)
					continue
				}
				if w == http.StatusForbidden && !strings.Contains(body, `"error_code":40301`) {
					t.Errorf("%s: %s, want error code 40301", tt.name, body)
				}
				t.Logf("%-6s %-18s %d", mode.name, tt.name, status)
			}
		})
	}
}

// TestPassthroughLogins checks the logins passthrough makes at the
// brokers through the HTTP API: a caller Kafka does not know is 401, a
// Kafka user added at runtime works at once without a restart, and with a
// pool of one client, alice then bob then alice logs alice in anew.
func TestPassthroughLogins(t *testing.T) {
	e := newIdentityEnv(t, "--kafka-identity", "passthrough", "--authz-mode", "kafka", "--kafka-identity-pool-size", "1")
	grantKafkaACLs(t, e.adm)

	status, body := e.produceAs(t, "carol", "a")
	if status != http.StatusUnauthorized || !strings.Contains(body, `"error_code":40101`) || strings.Contains(body, "carol-pw") {
		t.Fatalf("carol, unknown to Kafka: %d %s, want 401 (40101)", status, body)
	}
	if got := e.metric(t, "krest_identity_logins_refused_total"); got != "1" {
		t.Errorf("logins refused %s, want 1", got)
	}
	setSCRAM(t, e.adm, "carol", "carol-pw")
	if _, err := e.adm.CreateACLs(context.Background(), kadm.NewACLs().Allow("User:carol").AllowHosts().Topics("c").Operations(kadm.OpWrite)); err != nil {
		t.Fatal(err)
	}
	if status, body := e.produceAs(t, "carol", "c"); status != http.StatusCreated {
		t.Fatalf("carol, made a Kafka user at runtime: %d %s", status, body)
	}

	created := func() string { return e.metric(t, "krest_identity_clients_created_total") }
	before := created()
	for _, user := range []string{"alice", "bob", "alice"} {
		if status, body := e.do(t, user, "GET", "/v3/clusters/{cluster}/topics", ""); status != http.StatusOK {
			t.Fatalf("%s lists topics: %d %s", user, status, body)
		}
	}
	if before != "1" || created() != "4" {
		t.Errorf("clients created %s then %s, want 1 then 4: alice's client made again after bob's took the one place", before, created())
	}
	if got := e.metric(t, `krest_identity_clients_evicted_total{reason="size"}`); got != "3" {
		t.Errorf("evicted for size %s, want 3", got)
	}
}

// TestPassthroughIdle evicts an idle caller's client through the HTTP
// API, and its next request logs in anew.
func TestPassthroughIdle(t *testing.T) {
	e := newIdentityEnv(t, "--kafka-identity", "passthrough", "--authz-mode", "kafka", "--kafka-identity-idle-timeout", "200ms")
	grantKafkaACLs(t, e.adm)
	if status, body := e.produceAs(t, "alice", "a"); status != http.StatusCreated {
		t.Fatalf("alice: %d %s", status, body)
	}
	kafkatest.WaitFor(t, 10*time.Second, func() error {
		if got := e.metric(t, `krest_identity_clients_evicted_total{reason="idle"}`); got != "1" {
			return fmt.Errorf("idle evictions %s", got)
		}
		if got := e.metric(t, "krest_identity_clients"); got != "0" {
			return fmt.Errorf("%s clients open", got)
		}
		return nil
	})
	if status, body := e.produceAs(t, "alice", "a"); status != http.StatusCreated {
		t.Fatalf("alice after her client idled out: %d %s", status, body)
	}
	if got := e.metric(t, "krest_identity_clients_created_total"); got != "2" {
		t.Errorf("clients created %s, want 2", got)
	}
}

// TestIdentityRun runs krest with passthrough and Basic logins: it starts
// and is ready (its own clients, the readiness check and the consumer
// group log in as krest), and a caller the brokers do not know is refused
// 401 saying so, not 503.
func TestIdentityRun(t *testing.T) {
	f, _ := kafkatest.NewSecureFake(t, kafka.MechanismScramSHA512, kfake.EnableACLs())
	k := startKrest(t, "--brokers", strings.Join(f.Brokers(), ","), "--kafka-identity", "passthrough",
		"--auth", "basic", "--auth-basic-users-file", authtest.UsersFile(t, "stranger", "pw"), "--auth-open-metrics")
	k.waitReady(t)
	req, _ := http.NewRequest("POST", k.url+"/api/messages", strings.NewReader(`{"id":"1","content":"x"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", basic("stranger", "pw"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a caller Kafka does not know, under passthrough: %d", resp.StatusCode)
	}
	if code, body := k.get(t, "/metrics"); code != http.StatusOK || !strings.Contains(body, "krest_identity_logins_refused_total 1") {
		t.Errorf("metrics %d: want a refused login counted", code)
	}
	if err := k.stop(); err != nil {
		t.Errorf("stop: %v", err)
	}
}

// TestKafkaIdentity runs passthrough against real Kafka with the
// StandardAuthorizer, ACLs from kadm, and the brokers deciding alone: a
// Basic caller logs in with SCRAM-SHA-512 as itself, and a bearer caller
// with OAUTHBEARER and its own token, which krest checks against the same
// key set file the brokers do. alice may produce to a, and neither
// produce to b nor delete a. Real Kafka only (KREST_TEST_KAFKA=kafka).
func TestKafkaIdentity(t *testing.T) {
	kafkatest.SkipIfNoKafka(t)
	authorizer := map[string]string{
		"authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
		"super.users":           "User:admin;User:krest", // the nodes, and krest's own login
	}
	for _, tt := range []struct {
		name, security string
	}{
		{"Basic as SCRAM", kafkatest.SecuritySCRAM},
		{"bearer as OAUTHBEARER", kafkatest.SecurityOAuth},
	} {
		t.Run(tt.name, func(t *testing.T) {
			k := kafkatest.StartKafka(t, kafkatest.KafkaOptions{Security: tt.security, Config: authorizer})
			var secure func(*api.Security)
			if tt.security == kafkatest.SecurityOAuth {
				// krest fetches the key set the brokers read.
				file := k.JWKSFile(t)
				jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
					b, err := os.ReadFile(file)
					if err != nil {
						http.Error(w, err.Error(), http.StatusInternalServerError)
						return
					}
					_, _ = w.Write(b)
				}))
				t.Cleanup(jwks.Close)
				bearer, err := auth.NewBearer(t.Context(), auth.BearerOptions{JWKSURL: jwks.URL, Audience: "kafka"})
				if err != nil {
					t.Fatal(err)
				}
				secure = func(s *api.Security) { s.Bearer = bearer }
			}
			e := startIdentityEnv(t, k.Brokers(), secure, "--kafka-identity", "passthrough", "--authz-mode", "kafka")
			if tt.security == kafkatest.SecurityOAuth {
				e.authorization = func(user string) string { return "Bearer " + k.Token(t, user, time.Hour) }
			} else {
				setSCRAM(t, e.adm, "alice", "alice-pw")
			}
			if _, err := e.adm.CreateACLs(context.Background(), kadm.NewACLs().Allow("User:alice").AllowHosts().Topics("a").Operations(kadm.OpWrite)); err != nil {
				t.Fatal(err)
			}
			// The brokers take a new user and ACL in a moment.
			kafkatest.WaitFor(t, 30*time.Second, func() error {
				if status, body := e.produceAs(t, "alice", "a"); status != http.StatusCreated {
					return fmt.Errorf("alice producing to a: %d %s", status, body)
				}
				return nil
			})
			if status, body := e.produceAs(t, "alice", "b"); status != http.StatusForbidden || !strings.Contains(body, `"error_code":40301`) {
				t.Errorf("alice producing to b: %d %s, want 403 (40301)", status, body)
			}
			if status, body := e.do(t, "alice", "DELETE", "/v3/clusters/{cluster}/topics/a", ""); status != http.StatusForbidden {
				t.Errorf("alice deleting a: %d %s, want 403", status, body)
			}
			// bob has no ACL; with SCRAM he is no Kafka user either.
			wantBob := http.StatusForbidden
			if tt.security == kafkatest.SecuritySCRAM {
				wantBob = http.StatusUnauthorized
			}
			if status, body := e.produceAs(t, "bob", "a"); status != wantBob {
				t.Errorf("bob producing to a: %d %s, want %d", status, body, wantBob)
			}
		})
	}
}

// TestBrokerDenialOnProduceRoutes has the brokers alone decide (kafka
// mode) on a topic alice may not write: each produce route answers 403
// (40301) for the whole request, as the seed route does, and one she may
// write is produced to.
func TestBrokerDenialOnProduceRoutes(t *testing.T) {
	e := newIdentityEnv(t, "--kafka-identity", "passthrough", "--authz-mode", "kafka")
	grantKafkaACLs(t, e.adm)
	for _, tt := range []struct {
		name, path, body string
	}{
		{"v2", "/topics/%s", `{"records":[{"value":1},{"value":2}]}`},
		{"v3 records", "/v3/clusters/{cluster}/topics/%s/records", `{"value":{"type":"JSON","data":1}}`},
		{"v3 batch", "/v3/clusters/{cluster}/topics/%s/records:batch", `{"entries":[{"id":"1","value":{"type":"JSON","data":1}}]}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, body := e.do(t, "alice", "POST", fmt.Sprintf(tt.path, "d"), tt.body)
			if status != http.StatusForbidden || !strings.Contains(body, "40301") {
				t.Errorf("topic d, denied at the brokers: %d %s", status, body)
			}
			if status, body := e.do(t, "alice", "POST", fmt.Sprintf(tt.path, "a"), tt.body); status >= 300 {
				t.Errorf("topic a, allowed: %d %s", status, body)
			}
		})
	}
}
