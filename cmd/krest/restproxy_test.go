package main

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"

	"krest/internal/kafkatest"
)

// TestRestProxySwitches runs krest with each REST Proxy API version
// switched off in turn by its flag, and checks that the
// other still answers, with the real cluster id, while the switched-off
// one does not exist.
func TestRestProxySwitches(t *testing.T) {
	c := kafkatest.NewCluster(t)
	md, err := kadm.NewClient(kafkatest.NewClient(t, c.Brokers())).BrokerMetadata(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name   string
		args   []string
		v2, v3 int // statuses of GET /topics and GET /v3/clusters
	}{
		{"both", nil, http.StatusOK, http.StatusOK},
		{"v2 off", []string{"--api-v2=false"}, http.StatusNotFound, http.StatusOK},
		{"v3 off", []string{"--api-v3=false"}, http.StatusOK, http.StatusNotFound},
	} {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"--brokers", strings.Join(c.Brokers(), ","), "--consumer=false"}, tt.args...)
			k := startKrest(t, args...)
			k.waitReady(t)
			if status, body := k.get(t, "/topics"); status != tt.v2 {
				t.Errorf("GET /topics: %d %s, want %d", status, body, tt.v2)
			}
			status, body := k.get(t, "/v3/clusters")
			if status != tt.v3 {
				t.Errorf("GET /v3/clusters: %d %s, want %d", status, body, tt.v3)
			}
			if status == http.StatusOK && !strings.Contains(body, `"cluster_id":"`+md.Cluster+`"`) {
				t.Errorf("GET /v3/clusters: %s", body)
			}
		})
	}
}
