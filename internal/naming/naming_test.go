package naming

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestTopic(t *testing.T) {
	for _, tt := range []struct {
		name  string
		topic string
		want  string // "" for a legal name, else part of the error
	}{
		{"simple", "orders", ""},
		{"all legal characters", "Orders.v1_EU-west-2", ""},
		{"one character", "a", ""},
		{"max length", strings.Repeat("x", 249), ""},
		{"dots inside", "a..b", ""},
		{"three dots", "...", ""},
		{"empty", "", "topic name is empty"},
		{"dot", ".", `cannot be "."`},
		{"dot dot", "..", `cannot be ".."`},
		{"too long", strings.Repeat("x", 250), "250 characters long, more than 249"},
		{"space", "my topic", `contains ' '`},
		{"slash", "a/b", `contains '/'`},
		{"non-ASCII letter", "été", `contains 'é'`},
		{"non-ASCII later", "caf\u00e9s", `contains 'é'`},
		{"emoji", "a🙂", `contains '🙂'`},
		{"NUL", "a\x00b", `contains '\x00'`},
		{"not UTF-8", "a\xc3", "contains the byte 0xc3, which is not UTF-8"},
		{"replacement character", "a\uFFFD", `contains '�'`},
		{"long and illegal", strings.Repeat("é", 300), `contains 'é'`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := Topic(tt.topic)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Topic(%q) = %v, want nil", tt.topic, err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("Topic(%q) = %v, want an error containing %s", tt.topic, err, tt.want)
			}
		})
	}
}

func TestGroup(t *testing.T) {
	for _, tt := range []struct {
		name, id, want string
	}{
		{"usual", "message-consumer-group", ""},
		{"any characters", "gruppe für alle: 1/2", ""},
		{"longest", strings.Repeat("g", 32767), ""},
		{"empty", "", "is empty"},
		{"too long", strings.Repeat("g", 32768), "32768 bytes long"},
		{"not UTF-8", "g\xff", "not UTF-8"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := Group(tt.id)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Group = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("Group = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// legalTopic is Kafka's rule as its documentation states it, the reference
// the fuzz test holds Topic to.
var legalTopic = regexp.MustCompile(`^[a-zA-Z0-9._-]{1,249}$`)

// FuzzTopic checks Topic against the reference rule. Invariants: Topic
// accepts exactly the names the reference accepts; an error for a name
// with an illegal character names the first one, as a character when the
// name is UTF-8 up to it, else as the byte; Topic never panics.
func FuzzTopic(f *testing.F) {
	for _, s := range []string{"orders", "", ".", "..", "...", "été", "a\xc3", "a b", strings.Repeat("x", 250), "a\uFFFD"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		err := Topic(name)
		want := legalTopic.MatchString(name) && name != "." && name != ".."
		if (err == nil) != want {
			t.Fatalf("Topic(%q) = %v, reference says legal=%v", name, err, want)
		}
		i := strings.IndexFunc(name, func(r rune) bool { return !legalTopicRune(r) })
		if err == nil || i < 0 {
			return
		}
		r, size := utf8.DecodeRuneInString(name[i:])
		mention := "contains " + strconv.QuoteRune(r)
		if r == utf8.RuneError && size == 1 {
			mention = fmt.Sprintf("contains the byte 0x%02x", name[i])
		}
		if !strings.Contains(err.Error(), mention) {
			t.Fatalf("Topic(%q) = %q, want it to name %s", name, err, mention)
		}
	})
}
