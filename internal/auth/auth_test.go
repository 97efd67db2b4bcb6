package auth

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestPrincipalKeepsCredentialsOutOfLogs(t *testing.T) {
	exp := time.Unix(1_900_000_000, 0)
	for _, p := range []Principal{
		{Name: "User:alice", Method: MethodBasic, creds: &Credentials{Username: "alice", Password: "s3cret-pw"}},
		{Name: "User:bob", Groups: []string{"Group:ops"}, Method: MethodBearer, Expiry: exp, creds: &Credentials{Token: "eyJ.s3cret-pw.sig", Expiry: exp}},
	} {
		var logged bytes.Buffer
		log := slog.New(slog.NewJSONHandler(&logged, nil))
		log.Info("request", "principal", p, "credentials", p.Credentials())
		log.Info("request", slog.Any("principal", p))
		pj, _ := json.Marshal(p)
		cj, _ := json.Marshal(p.Credentials())
		c := p.Credentials()
		for _, out := range []string{
			fmt.Sprint(p), fmt.Sprintf("%v %+v %#v %s", p, p, p, p),
			fmt.Sprint(c), fmt.Sprintf("%v %+v %#v %s", c, c, c, c),
			fmt.Sprintf("%+v", []Principal{p}), fmt.Sprintf("%+v", struct{ P Principal }{p}), fmt.Sprintf("%+v %#v", struct{ p Principal }{p}, struct{ p Principal }{p}),
			logged.String(), string(pj), string(cj),
		} {
			if strings.Contains(out, "s3cret") {
				t.Fatalf("credentials leak: %s", out)
			}
		}
		if got := fmt.Sprint(p); got != p.Name {
			t.Fatalf("String() = %q", got)
		}
		if !strings.Contains(logged.String(), p.Name) {
			t.Fatalf("the log lacks the name: %s", logged.String())
		}
	}
}
