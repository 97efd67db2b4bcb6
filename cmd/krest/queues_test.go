package main

import (
	"errors"
	"os/exec"
	"strings"
	"testing"
)

// TestQueueSettingsExit2 runs the binary with work queue settings that
// cannot work: it exits 2 with a line for each.
func TestQueueSettingsExit2(t *testing.T) {
	cmd := exec.Command(krestBinary, "--share-max-deliveries", "0", "--share-dead-letters", "both")
	cmd.Env = append(cmd.Environ(), "KREST_SHARE_AUTO_OFFSET_RESET=none")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 {
		t.Fatalf("got %v, want exit status 2\n%s", err, out)
	}
	for _, want := range []string{"share max deliveries must be at least 1", `share auto offset reset must be earliest or latest, not "none"`,
		`share dead letters must be krest or broker, not "both"`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
