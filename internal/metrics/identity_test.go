package metrics

import (
	"strings"
	"testing"
)

// TestIdentityCounters checks the identity pool's gauge and counters.
func TestIdentityCounters(t *testing.T) {
	m := New()
	m.IdentityClientCreated()
	m.IdentityClientCreated()
	m.IdentityClientCreated()
	m.IdentityClientEvicted("size")
	m.IdentityClientEvicted("idle")
	m.IdentityClientEvicted("idle")
	m.IdentityClientClosed()
	m.IdentityLoginRefused()
	body := scrape(t, m)
	for _, want := range []string{
		"krest_identity_clients 2",
		"krest_identity_clients_created_total 3",
		`krest_identity_clients_evicted_total{reason="size"} 1`,
		`krest_identity_clients_evicted_total{reason="idle"} 2`,
		"krest_identity_logins_refused_total 1",
	} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("metrics lack %s", want)
		}
	}
}
