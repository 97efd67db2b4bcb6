package api

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"krest/internal/admin"
	"krest/internal/kafkatest"
)

// joinGroup starts a consumer of topic in group, static member instance
// with client id client, waits until the group is stable with the member
// owning every one of the topic's partitions, and commits offsets for it.
// It returns the member id.
func (e *proxyEnv) joinGroup(t *testing.T, group, instance, client, topic string, partitions int, commits map[int32]int64) string {
	t.Helper()
	cl := kafkatest.NewClient(t, e.brokers, kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
		kgo.InstanceID(instance), kgo.ClientID(client), kgo.DisableAutoCommit())
	var member string
	kafkatest.WaitFor(t, 10*time.Second, func() error {
		r := e.do(t, "GET", "/v3/clusters/kfake/consumer-groups/"+group+"/consumers", "")
		var body struct {
			Data []struct {
				ConsumerID string `json:"consumer_id"`
			} `json:"data"`
		}
		if err := json.Unmarshal(r.body, &body); r.status != 200 || err != nil || len(body.Data) != 1 {
			return fmt.Errorf("group %s: %d %s", group, r.status, r.body)
		}
		member = body.Data[0].ConsumerID
		a := e.do(t, "GET", "/v3/clusters/kfake/consumer-groups/"+group+"/consumers/"+member+"/assignments", "")
		var assigned struct{ Data []json.RawMessage }
		if err := json.Unmarshal(a.body, &assigned); err != nil || len(assigned.Data) != partitions {
			return fmt.Errorf("member %s owns %s", member, a.body)
		}
		return nil
	})
	offsets := map[int32]kgo.EpochOffset{}
	for p, o := range commits {
		offsets[p] = kgo.EpochOffset{Epoch: -1, Offset: o}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var commitErr error
	cl.CommitOffsetsSync(ctx, map[string]map[int32]kgo.EpochOffset{topic: offsets},
		func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
			commitErr = err
			for _, t := range resp.Topics {
				for _, p := range t.Partitions {
					commitErr = cmp.Or(commitErr, kerr.ErrorForCode(p.ErrorCode))
				}
			}
		})
	if commitErr != nil {
		t.Fatal(commitErr)
	}
	return member
}

// TestV3 walks every non-produce v3 route through a cluster's life: it
// checks each answer against its golden file, krest's OpenAPI document and
// upstream's, and reports how much of upstream's document it covered.
func TestV3(t *testing.T) {
	e := newProxyEnv(t)
	sp := newSpecs(t)
	defer sp.report(t)

	const (
		c      = "/v3/clusters/kfake"
		orders = c + "/topics/orders"
	)
	step := func(t *testing.T, name string, status int, method, path, body string) reply {
		t.Helper()
		r := e.mustDo(t, status, method, path, body)
		if name != "" {
			golden(t, "v3_"+name, r)
		}
		sp.check(t, method, path, body, r)
		return r
	}
	type exchange struct {
		name, method, path, body string
		status                   int
		code                     int // error_code, for errors
	}
	run := func(t *testing.T, table []exchange) {
		t.Helper()
		for _, tt := range table {
			t.Run(tt.name, func(t *testing.T) {
				r := step(t, tt.name, tt.status, tt.method, tt.path, tt.body)
				if tt.code != 0 && errorCode(t, r) != tt.code {
					t.Errorf("error_code %d, want %d", errorCode(t, r), tt.code)
				}
			})
		}
	}

	t.Run("cluster", func(t *testing.T) {
		run(t, []exchange{
			{name: "clusters", method: "GET", path: "/v3/clusters", status: 200},
			{name: "cluster", method: "GET", path: c, status: 200},
			{name: "cluster_not_found", method: "GET", path: "/v3/clusters/other", status: 404, code: 404},
			{name: "cluster_not_found_topics", method: "GET", path: "/v3/clusters/other/topics", status: 404, code: 404},
			{name: "brokers", method: "GET", path: c + "/brokers", status: 200},
			{name: "broker", method: "GET", path: c + "/brokers/0", status: 200},
			{name: "broker_not_found", method: "GET", path: c + "/brokers/7", status: 404, code: 404},
			{name: "broker_configs", method: "GET", path: c + "/brokers/0/configs", status: 200},
			{name: "broker_config", method: "GET", path: c + "/brokers/0/configs/compression.type", status: 200},
			{name: "broker_config_sensitive", method: "GET", path: c + "/brokers/0/configs/super.users", status: 200},
			{name: "broker_config_not_found", method: "GET", path: c + "/brokers/0/configs/no.such.config", status: 404, code: 404},
			{name: "all_broker_configs", method: "GET", path: c + "/brokers/-/configs", status: 200},
		})
	})

	t.Run("topics", func(t *testing.T) {
		run(t, []exchange{
			{name: "topic_create", method: "POST", path: c + "/topics", status: 201,
				body: `{"topic_name":"orders","partitions_count":2,"replication_factor":1,"configs":[{"name":"cleanup.policy","value":"compact"},{"name":"retention.ms","value":null}]}`},
			{name: "topic_create_validate_only", method: "POST", path: c + "/topics", status: 200,
				body: `{"topic_name":"dry-run","partitions_count":4,"validate_only":true}`},
			{name: "topic_validated_not_created", method: "GET", path: c + "/topics/dry-run", status: 404, code: 40403},
			{name: "topic_create_exists", method: "POST", path: c + "/topics", body: `{"topic_name":"orders"}`, status: 400, code: 40002},
			{name: "topic_create_invalid_name", method: "POST", path: c + "/topics", body: `{"topic_name":"a b"}`, status: 422, code: 42206},
			{name: "topic_create_no_name", method: "POST", path: c + "/topics", body: `{"partitions_count":1}`, status: 400, code: 40002},
			{name: "topic_create_assignments", method: "POST", path: c + "/topics",
				body: `{"topic_name":"x","replicas_assignments":{"0":[0]}}`, status: 400, code: 40002},
			{name: "topic_create_zero_partitions", method: "POST", path: c + "/topics", body: `{"topic_name":"x","partitions_count":0}`, status: 400, code: 40002},
			{name: "topics", method: "GET", path: c + "/topics", status: 200},
			{name: "topic", method: "GET", path: orders, status: 200},
			{name: "topic_authorized_operations", method: "GET", path: orders + "?include_authorized_operations=true", status: 200},
			{name: "topic_not_found", method: "GET", path: c + "/topics/missing", status: 404, code: 40403},
			{name: "topic_bad_name", method: "GET", path: c + "/topics/a*b", status: 400, code: 40002},
			{name: "topic_partitions_count", method: "PATCH", path: orders, body: `{"partitions_count":3}`, status: 200},
			{name: "topic_partitions_count_lower", method: "PATCH", path: orders, body: `{"partitions_count":2}`, status: 400, code: 40002},
			{name: "topic_partitions_count_missing", method: "PATCH", path: orders, body: `{}`, status: 400, code: 40002},
		})
	})

	t.Run("configs", func(t *testing.T) {
		run(t, []exchange{
			{name: "topic_configs", method: "GET", path: orders + "/configs", status: 200},
			{name: "topic_config", method: "GET", path: orders + "/configs/cleanup.policy", status: 200},
			{name: "topic_config_not_found", method: "GET", path: orders + "/configs/no.such.config", status: 404, code: 404},
			{name: "topic_config_set", method: "PUT", path: orders + "/configs/retention.ms", body: `{"value":"3600000"}`, status: 204},
			{name: "topic_config_after_set", method: "GET", path: orders + "/configs/retention.ms", status: 200},
			{name: "topic_config_set_unknown", method: "PUT", path: orders + "/configs/no.such.config", body: `{"value":"1"}`, status: 404, code: 404},
			{name: "topic_config_reset", method: "DELETE", path: orders + "/configs/retention.ms", status: 204},
			{name: "topic_config_after_reset", method: "GET", path: orders + "/configs/retention.ms", status: 200},
			{name: "topic_configs_alter", method: "POST", path: orders + "/configs:alter", status: 204,
				body: `{"data":[{"name":"cleanup.policy","operation":"DELETE"},{"name":"compression.type","value":"gzip"}]}`},
			{name: "topic_configs_alter_validate_only", method: "POST", path: orders + "/configs:alter", status: 204,
				body: `{"data":[{"name":"compression.type","value":"lz4","operation":"SET"}],"validate_only":true}`},
			{name: "topic_configs_after_alter", method: "GET", path: orders + "/configs/compression.type", status: 200},
			{name: "topic_configs_alter_unknown", method: "POST", path: orders + "/configs:alter", status: 404, code: 404,
				body: `{"data":[{"name":"compression.type","value":"lz4"},{"name":"no.such.config","value":"1"}]}`},
			{name: "topic_configs_alter_bad_operation", method: "POST", path: orders + "/configs:alter", status: 400, code: 40002,
				body: `{"data":[{"name":"compression.type","operation":"APPEND"}]}`},
			{name: "topic_configs_missing_topic", method: "GET", path: c + "/topics/missing/configs", status: 404, code: 40403},
			{name: "all_topic_configs", method: "GET", path: c + "/topics/-/configs", status: 200},
		})
	})

	e.setupTopic(t, "payments", 2, nil, 5, 2)
	member := e.joinGroup(t, "billing", "billing-1", "billing-client", "payments", 2, map[int32]int64{0: 2, 1: 2})
	g := c + "/consumer-groups/billing"
	m := g + "/consumers/" + member

	t.Run("partitions", func(t *testing.T) {
		pay := c + "/topics/payments"
		run(t, []exchange{
			{name: "partitions", method: "GET", path: pay + "/partitions", status: 200},
			{name: "partition", method: "GET", path: pay + "/partitions/0", status: 200},
			{name: "partition_not_found", method: "GET", path: pay + "/partitions/9", status: 404, code: 40402},
			{name: "partition_offsets", method: "GET", path: pay + "/partitions/0/offset", status: 200},
			{name: "partition_offsets_type", method: "GET", path: pay + "/partitions/0/offset?offset_type=earliest_and_latest", status: 200},
			{name: "partition_offsets_bad_type", method: "GET", path: pay + "/partitions/0/offset?offset_type=latest", status: 400, code: 400},
			{name: "partition_offsets_not_found", method: "GET", path: pay + "/partitions/9/offset", status: 404, code: 40402},
			{name: "replicas", method: "GET", path: pay + "/partitions/1/replicas", status: 200},
			{name: "replica", method: "GET", path: pay + "/partitions/1/replicas/0", status: 200},
			{name: "replica_not_found", method: "GET", path: pay + "/partitions/1/replicas/3", status: 404, code: 404},
			{name: "broker_replicas", method: "GET", path: c + "/brokers/0/partition-replicas", status: 200},
		})
	})

	t.Run("groups", func(t *testing.T) {
		run(t, []exchange{
			{name: "consumer_groups", method: "GET", path: c + "/consumer-groups", status: 200},
			{name: "consumer_group", method: "GET", path: g, status: 200},
			{name: "consumer_group_not_found", method: "GET", path: c + "/consumer-groups/missing", status: 404, code: 404},
			{name: "consumers", method: "GET", path: g + "/consumers", status: 200},
			{name: "consumer", method: "GET", path: m, status: 200},
			{name: "consumer_not_found", method: "GET", path: g + "/consumers/missing", status: 404, code: 404},
			{name: "assignments", method: "GET", path: m + "/assignments", status: 200},
			{name: "assignment", method: "GET", path: m + "/assignments/payments/partitions/1", status: 200},
			{name: "assignment_not_found", method: "GET", path: m + "/assignments/orders/partitions/1", status: 404, code: 404},
			{name: "lags", method: "GET", path: g + "/lags", status: 200},
			{name: "lag", method: "GET", path: g + "/lags/payments/partitions/0", status: 200},
			{name: "lag_not_found", method: "GET", path: g + "/lags/orders/partitions/0", status: 404, code: 40402},
			{name: "lag_summary", method: "GET", path: g + "/lag-summary", status: 200},
			{name: "lags_group_not_found", method: "GET", path: c + "/consumer-groups/missing/lags", status: 404, code: 404},
		})
	})

	t.Run("group without offsets", func(t *testing.T) {
		e.joinGroup(t, "idle", "idle-1", "idle-client", "orders", 3, nil)
		run(t, []exchange{
			{name: "lags_no_offsets", method: "GET", path: c + "/consumer-groups/idle/lags", status: 404, code: 404},
			{name: "lag_summary_no_offsets", method: "GET", path: c + "/consumer-groups/idle/lag-summary", status: 404, code: 404},
		})
	})

	t.Run("delete", func(t *testing.T) {
		run(t, []exchange{
			{name: "topic_delete", method: "DELETE", path: orders, status: 204},
			{name: "topic_deleted", method: "GET", path: orders, status: 404, code: 40403},
			{name: "topic_delete_not_found", method: "DELETE", path: orders, status: 404, code: 40403},
		})
	})
}

// FuzzV3Bodies feeds arbitrary bytes to the decoders of the v3 request
// bodies. Invariants: they never panic and fail only with a 4xx apiError;
// a topic they accept has a legal name and a positive or default (0)
// partition count and replication factor; every config change they accept
// names a config.
func FuzzV3Bodies(f *testing.F) {
	for _, s := range []string{
		`{"topic_name":"t","partitions_count":3,"replication_factor":1,"configs":[{"name":"a","value":null}],"validate_only":true}`,
		`{"topic_name":"a b"}`, `{"partitions_count":-1}`, `{"data":[{"name":"x","operation":"DELETE"}]}`,
		`{"data":[{"name":"","value":"1"}]}`, `{"value":null}`, `{"partitions_count":2}`, `[]`, `null`, `{"data":null}`,
	} {
		f.Add([]byte(s))
	}
	is4xx := func(t *testing.T, what string, err error) {
		var ae *apiError
		if !errors.As(err, &ae) || ae.Status < 400 || ae.Status > 499 {
			t.Fatalf("%s: error %v is not a 4xx answer", what, err)
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var nt v3NewTopic
		if err := unmarshalStrict(body, &nt); err != nil {
			is4xx(t, "new topic", err)
		} else if tp, err := nt.topic(); err != nil {
			is4xx(t, "topic", err)
		} else if admin.ValidTopicName(tp.Name) != nil || tp.Partitions < 0 || tp.ReplicationFactor < 0 {
			t.Fatalf("accepted %+v from %s", tp, body)
		}

		var batch v3ConfigBatch
		if err := unmarshalStrict(body, &batch); err != nil {
			is4xx(t, "config batch", err)
		} else if changes, err := batch.alterations(); err != nil {
			is4xx(t, "alterations", err)
		} else {
			for _, ch := range changes {
				if ch.Name == "" {
					t.Fatalf("accepted a change without a name: %s", body)
				}
			}
		}

		var count v3PartitionCount
		if err := unmarshalStrict(body, &count); err != nil {
			is4xx(t, "partition count", err)
		}
		var update v3ConfigUpdate
		if err := unmarshalStrict(body, &update); err != nil {
			is4xx(t, "config update", err)
		}
	})
}

// TestKafkaErrors injects broker errors with kfake's control hooks and
// checks how both API versions answer them: a retriable error is a 503 with
// Retry-After (krest's extension: upstream answers 500), an authorization
// failure upstream's 403 (40301).
func TestKafkaErrors(t *testing.T) {
	e := newProxyEnv(t)
	sp := newSpecs(t)
	e.setupTopic(t, "orders", 1, nil)
	for _, tt := range []struct {
		name   string
		path   string
		fail   *kerr.Error
		status int
		code   int
	}{
		{"v3_kafka_retriable", "/v3/clusters/kfake/topics/orders/configs", kerr.RequestTimedOut, 503, 50003},
		{"v3_kafka_not_authorized", "/v3/clusters/kfake/topics/orders/configs", kerr.TopicAuthorizationFailed, 403, 40301},
		{"v2_kafka_retriable", "/topics/orders", kerr.RequestTimedOut, 503, 50003},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e.fake.ControlKey(kmsg.DescribeConfigs.Int16(), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
				req := kreq.(*kmsg.DescribeConfigsRequest)
				resp := req.ResponseKind().(*kmsg.DescribeConfigsResponse)
				resp.Version = req.Version
				for _, rr := range req.Resources {
					r := kmsg.NewDescribeConfigsResponseResource()
					r.ResourceType, r.ResourceName, r.ErrorCode = rr.ResourceType, rr.ResourceName, tt.fail.Code
					resp.Resources = append(resp.Resources, r)
				}
				return resp, nil, true
			})
			r := e.mustDo(t, tt.status, "GET", tt.path, "")
			golden(t, tt.name, r)
			sp.check(t, "GET", tt.path, "", r)
			if errorCode(t, r) != tt.code {
				t.Errorf("error_code %d, want %d", errorCode(t, r), tt.code)
			}
			if retry := r.header.Get("Retry-After"); (tt.status == 503) != (retry != "") {
				t.Errorf("Retry-After %q with status %d", retry, tt.status)
			}
		})
	}
}

// TestV3Pages lists topics, groups and all topic configs two at a time:
// every page but the last links the next in metadata.next, and the pages
// hold every item once, in order.
func TestV3Pages(t *testing.T) {
	e := newProxyEnvAdmin(t, []admin.Opt{admin.MaxListItems(2)})
	for _, name := range []string{"a", "b", "c"} {
		e.mustDo(t, http.StatusCreated, "POST", "/v3/clusters/kfake/topics", `{"topic_name":"`+name+`","partitions_count":1}`)
	}
	type page struct {
		Metadata struct {
			Next *string `json:"next"`
		} `json:"metadata"`
		Data []struct {
			TopicName string `json:"topic_name"`
		} `json:"data"`
	}
	var got []string
	path := "/v3/clusters/kfake/topics"
	for pages := 0; path != ""; pages++ {
		if pages > 2 {
			t.Fatalf("more than 2 pages: %v", got)
		}
		var p page
		if err := json.Unmarshal(e.mustDo(t, http.StatusOK, "GET", path, "").body, &p); err != nil {
			t.Fatal(err)
		}
		if len(p.Data) > 2 {
			t.Errorf("a page of %d items", len(p.Data))
		}
		for _, d := range p.Data {
			got = append(got, d.TopicName)
		}
		path = ""
		if p.Metadata.Next != nil {
			path = strings.TrimPrefix(*p.Metadata.Next, e.url)
		}
	}
	if strings.Join(got, ",") != "a,b,c" {
		t.Errorf("pages held %v, want a, b, c", got)
	}
	if r := e.do(t, "GET", "/v3/clusters/kfake/topics?page_token=bad*name", ""); r.status != http.StatusBadRequest {
		t.Errorf("a bad page token: %d", r.status)
	}
	var configs page
	if err := json.Unmarshal(e.mustDo(t, http.StatusOK, "GET", "/v3/clusters/kfake/topics/-/configs", "").body, &configs); err != nil {
		t.Fatal(err)
	}
	if configs.Metadata.Next == nil || !strings.Contains(*configs.Metadata.Next, "page_token=") {
		t.Errorf("all topic configs, a page of topics at most: next %v", configs.Metadata.Next)
	}
}
