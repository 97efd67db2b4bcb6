package main

import (
	"strings"
	"testing"
)

func TestSection(t *testing.T) {
	report := `
{"time":"2026-11-24T10:00:00Z","broker":"Apache Kafka","broker_version":"4.4.0","client":"kcat","client_version":"1.7.1","direction":"read","passed":false}
{"time":"2026-11-24T10:00:01Z","broker":"Apache Kafka","broker_version":"4.4.0","client":"kcat","client_version":"1.7.1","direction":"write","passed":true}
{"time":"2026-11-25T09:00:00Z","broker":"Apache Kafka","broker_version":"4.4.0","client":"kcat","client_version":"1.7.1","direction":"read","passed":true}
{"time":"2026-11-25T09:00:01Z","broker":"Apache Kafka","broker_version":"3.10.0","client":"kcat","client_version":"1.7.1","direction":"read","passed":true}
{"time":"2026-11-25T09:00:02Z","broker":"Apache Kafka","broker_version":"3.9.2","client":"kafkajs","client_version":"2.2.4","direction":"write","passed":false}
{"time":"2026-11-25T09:00:03Z","broker":"kfake","broker_version":"v0.1.0","client":"kafkajs","client_version":"2.2.4","direction":"read","passed":true}
`
	results, err := readResults(strings.NewReader(report))
	if err != nil {
		t.Fatal(err)
	}
	got := section(results)
	for _, want := range []string{
		"<!-- compat:begin -->\n## Compatibility\n\n",
		" of 2026-11-24 to 2026-11-25: ",
		// kfake first, then Kafka by version number, not as text.
		"| Client | kfake v0.1.0 | Apache Kafka 3.9.2 | Apache Kafka 3.10.0 | Apache Kafka 4.4.0 |\n|---|---|---|---|---|\n",
		// The later read of kcat against 4.4.0 replaces the failed one.
		"| kafkajs 2.2.4 | ✅ read | ❌ write | not run | not run |\n",
		"| kcat 1.7.1 | not run | not run | ✅ read | ✅ read · ✅ write |\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("section lacks %q:\n%s", want, got)
		}
	}
	if !strings.HasSuffix(got, "|\n<!-- compat:end -->\n") {
		t.Errorf("section does not end with the table and the end marker:\n%s", got)
	}
}

func TestReadResultsErrors(t *testing.T) {
	for _, tt := range []struct{ name, report, want string }{
		{"empty", "\n\n", "no results"},
		{"not JSON", "{\n", "line 1: "},
		{"bad direction", `{"direction":"sideways"}`, `line 1: direction "sideways"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := readResults(strings.NewReader(tt.report))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestReplaceSection(t *testing.T) {
	const sec = beginMarker + "\nnew\n" + endMarker + "\n"
	for _, tt := range []struct{ name, readme, want string }{
		{"replaced", "# r\n\n" + beginMarker + "\nold\n" + endMarker + "\n\n## Next\n", "# r\n\n" + sec + "\n## Next\n"},
		{"appended", "# r\n\ntext\n", "# r\n\ntext\n\n" + sec},
		{"end marker only", "# r\n" + endMarker + "\n", "# r\n" + endMarker + "\n\n" + sec},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(replaceSection([]byte(tt.readme), sec)); got != tt.want {
				t.Errorf("got\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}
