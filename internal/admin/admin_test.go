package admin

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"krest/internal/kafka"
)

func TestCluster(t *testing.T) {
	a, _ := newAdmin(t, kfake.NumBrokers(3), kfake.ClusterID("krest-cluster"))
	ctx := testCtx(t)

	id, err := a.ClusterID(ctx)
	wantErr(t, err, nil)
	if id != "krest-cluster" {
		t.Errorf("ClusterID = %q, want %q", id, "krest-cluster")
	}

	cluster, err := a.Cluster(ctx)
	wantErr(t, err, nil)
	if cluster.ID != "krest-cluster" {
		t.Errorf("Cluster().ID = %q, want %q", cluster.ID, "krest-cluster")
	}
	if _, err := a.Broker(ctx, cluster.ControllerID); err != nil {
		t.Errorf("controller %d is not a broker: %v", cluster.ControllerID, err)
	}
}

// TestValidTopicName checks that ValidTopicName applies naming.Topic (whose
// own tests cover the rule) and wraps its errors in kafka.ErrInvalidRequest,
// naming the character at fault, not a byte of it.
func TestValidTopicName(t *testing.T) {
	for _, tt := range []struct {
		name  string
		topic string
		want  string // "" for a legal name
	}{
		{"legal", "Orders.v1_EU-west-2", ""},
		{"empty", "", "topic name is empty: invalid request"},
		{"space", "my topic", `topic name "my topic" contains ' '; legal characters are ASCII letters, digits, '.', '_' and '-': invalid request`},
		{"non-ASCII letter", "été", `topic name "été" contains 'é'`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidTopicName(tt.topic)
			if tt.want == "" {
				wantErr(t, err, nil)
				return
			}
			wantErr(t, err, kafka.ErrInvalidRequest)
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ValidTopicName(%q) = %q, want it to contain %q", tt.topic, err, tt.want)
			}
		})
	}
}

// TestUnavailable checks that broker faults come back as kafka.ErrUnavailable, for
// a retriable error code in a response and for a cluster that is gone.
func TestUnavailable(t *testing.T) {
	t.Run("retriable error code", func(t *testing.T) {
		a, c := newAdmin(t, kfake.SeedTopics(1, "t"))
		c.ControlKey(int16(kmsg.DescribeConfigs), func(req kmsg.Request) (kmsg.Response, error, bool) {
			resp := req.(*kmsg.DescribeConfigsRequest).ResponseKind().(*kmsg.DescribeConfigsResponse)
			for _, rr := range req.(*kmsg.DescribeConfigsRequest).Resources {
				r := kmsg.NewDescribeConfigsResponseResource()
				r.ResourceType = rr.ResourceType
				r.ResourceName = rr.ResourceName
				r.ErrorCode = kerr.RequestTimedOut.Code
				resp.Resources = append(resp.Resources, r)
			}
			return resp, nil, true
		})
		_, err := a.TopicConfigs(testCtx(t), "t")
		wantErr(t, err, kafka.ErrUnavailable)
		if !errors.Is(err, kerr.RequestTimedOut) {
			t.Errorf("error %v does not wrap the broker's error code", err)
		}
	})

	t.Run("cluster gone", func(t *testing.T) {
		a, c := newAdmin(t, kfake.SeedTopics(1, "t"))
		if _, err := a.Topics(testCtx(t)); err != nil {
			t.Fatalf("Topics before close: %v", err)
		}
		c.Close()
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		defer cancel()
		_, err := a.Topics(ctx)
		wantErr(t, err, kafka.ErrUnavailable)
	})
}
