package main

import (
	"encoding/base64"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"krest/internal/auth/authtest"
	"krest/internal/kafkatest"
)

// TestAuthSettings runs krest with Basic and bearer logins and a policy
// from the settings: each way in, valid, invalid and missing, and a
// principal's rules, end to end.
func TestAuthSettings(t *testing.T) {
	c := kafkatest.NewCluster(t)
	issuer := authtest.NewIssuer(t)
	policy := filepath.Join(t.TempDir(), "authz.yaml")
	if err := os.WriteFile(policy, []byte(`superusers: [User:admin]
rules:
  - {principal: User:alice, permission: allow, resource: topic, pattern: literal, name: messages, operations: [write]}
  - {principal: User:carol, permission: allow, resource: topic, pattern: any, operations: [describe]}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	k := startKrest(t, "--brokers", strings.Join(c.Brokers(), ","), "--consumer=false",
		"--auth", "basic,bearer", "--auth-basic-users-file", authtest.UsersFile(t, "alice", "pw", "bob", "pw", "admin", "pw"),
		"--auth-jwt-issuer", issuer.URL(), "--auth-jwt-audience", "krest", "--authz-file", policy)
	k.waitReady(t)
	carol := "Bearer " + issuer.Token(t, "carol", "krest", nil)
	for _, tt := range []struct {
		name, method, path, authz, body string
		status                          int
	}{
		{"alice produces", "POST", "/api/messages", basic("alice", "pw"), `{"id":"1","content":"x"}`, 201},
		{"bob may not", "POST", "/api/messages", basic("bob", "pw"), `{"id":"2","content":"x"}`, 403},
		{"wrong password", "POST", "/api/messages", basic("alice", "nope"), `{"id":"3","content":"x"}`, 401},
		{"no credentials", "POST", "/api/messages", "", `{"id":"4","content":"x"}`, 401},
		{"carol's token lists topics", "GET", "/topics", carol, "", 200},
		{"carol may not produce", "POST", "/api/messages", carol, `{"id":"5","content":"x"}`, 403},
		{"a token for another audience", "GET", "/topics", "Bearer " + issuer.Token(t, "carol", "other", nil), "", 401},
		{"readiness needs none", "GET", "/readyz", "", "", 200},
		{"admin deletes", "DELETE", "/v3/clusters/" + k.clusterID(t, basic("admin", "pw")) + "/topics/messages.dlq", basic("admin", "pw"), "", 204},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, k.url+tt.path, strings.NewReader(tt.body))
			if tt.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			if tt.authz != "" {
				req.Header.Set("Authorization", tt.authz)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.status)
			}
		})
	}
	if strings.Contains(k.logs.String(), "cHc") || strings.Contains(k.logs.String(), carol[7:]) {
		t.Error("credentials in the log")
	}
}

// TestAuthRefusedAtStart checks the settings krest refuses to start with
// (exit 2): Basic over plain HTTP beyond loopback, and no authentication
// there with --require-auth.
func TestAuthRefusedAtStart(t *testing.T) {
	users := authtest.UsersFile(t, "alice", "pw")
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"basic over plain HTTP", []string{"--http-addr", "0.0.0.0:0", "--auth", "basic", "--auth-basic-users-file", users}, "plain HTTP"},
		{"required auth", []string{"--http-addr", "0.0.0.0:0", "--require-auth"}, "--require-auth"},
		{"http issuer beyond loopback", []string{"--auth", "bearer", "--auth-jwt-issuer", "http://idp.example.com", "--auth-jwt-audience", "krest"}, "must be https"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, err := exec.Command(krestBinary, append([]string{"serve", "--in-memory"}, tt.args...)...).CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 2 || !strings.Contains(string(out), tt.want) {
				t.Errorf("got %v, want exit 2 saying %q:\n%s", err, tt.want, out)
			}
		})
	}
}

// basic is an Authorization header of Basic credentials.
func basic(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}
