package main

import (
	"errors"
	"os/exec"
	"strings"
	"testing"
)

// TestBadSettingsExit2 runs the binary with settings that cannot work: it
// exits 2 at once, before listening on anything, with one line for each.
func TestBadSettingsExit2(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
		env  []string
		want []string
	}{
		{
			name: "unparseable http address",
			args: []string{"--http-addr", "nonsense"},
			want: []string{`http address "nonsense": missing port in address`},
		},
		{
			name: "embedded broker beyond loopback",
			args: []string{"--embedded-addr", "0.0.0.0:0", "--http-addr", "127.0.0.1:0"},
			want: []string{`embedded address "0.0.0.0:0" is not a loopback address`},
		},
		{
			name: "broker command too",
			args: []string{"broker", "--embedded-addr", ":0"},
			env:  []string{"KREST_BROKERS=k:9092"},
			want: []string{`embedded address ":0" is not a loopback address`},
		},
		{
			name: "several",
			args: []string{"--partitions", "4294967297", "--embedded-addr", "nonsense", "--linger", "1m"},
			env:  []string{"KREST_SESSION_TIMEOUT=1s"},
			want: []string{
				`embedded address "nonsense": missing port in address`,
				"partitions must be from 1 to 2147483647, not 4294967297",
				"linger must be from 0 to 1s, not 1m0s",
				"session timeout must be from 6s to 30m0s",
			},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(krestBinary, tt.args...)
			cmd.Env = append(cmd.Environ(), tt.env...)
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 2 {
				t.Fatalf("got %v, want exit status 2\n%s", err, out)
			}
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			if len(lines) != len(tt.want) {
				t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(tt.want), out)
			}
			for i, w := range tt.want {
				if !strings.Contains(lines[i], w) {
					t.Errorf("line %d = %q, want it to contain %q", i+1, lines[i], w)
				}
			}
		})
	}
}
