// Package naming holds the rules for the names clients and settings
// choose: Kafka's for topics and consumer groups, and krest's for a node's
// name. It asks no broker and imports only the standard
// library, so that the settings and the requests krest checks share one
// rule.
package naming

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// maxTopicLen is Kafka's limit on the length of a topic name
// (Topic.MAX_NAME_LENGTH).
const maxTopicLen = 249

// maxStringLen is the longest string the Kafka protocol carries: its length
// is an int16.
const maxStringLen = 1<<15 - 1

// Topic returns nil if name is a legal Kafka topic name, or an error saying
// why not, naming the first illegal character. Kafka's rules: 1 to 249
// characters, only ASCII letters, digits, '.', '_' and '-', and neither "."
// nor "..".
func Topic(name string) error {
	switch {
	case name == "":
		return errors.New("topic name is empty")
	case name == "." || name == "..":
		return fmt.Errorf("topic name cannot be %q", name)
	}
	for i, r := range name {
		if legalTopicRune(r) {
			continue
		}
		if _, size := utf8.DecodeRuneInString(name[i:]); r == utf8.RuneError && size == 1 {
			return fmt.Errorf("topic name %q contains the byte 0x%02x, which is not UTF-8; legal characters are ASCII letters, digits, '.', '_' and '-'", name, name[i])
		}
		return fmt.Errorf("topic name %q contains %q; legal characters are ASCII letters, digits, '.', '_' and '-'", name, r)
	}
	// Every character is ASCII now, so bytes count characters.
	if len(name) > maxTopicLen {
		return fmt.Errorf("topic name is %d characters long, more than %d", len(name), maxTopicLen)
	}
	return nil
}

func legalTopicRune(r rune) bool {
	return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '.' || r == '_' || r == '-'
}

// Group returns nil if id can name a consumer group, or an error saying why
// not. Kafka puts no rule on the characters of a group id, but brokers
// refuse an empty one, and the protocol carries at most 32767 bytes of
// UTF-8.
func Group(id string) error {
	switch {
	case id == "":
		return errors.New("consumer group id is empty")
	case len(id) > maxStringLen:
		return fmt.Errorf("consumer group id is %d bytes long, more than the %d the Kafka protocol carries", len(id), maxStringLen)
	case !utf8.ValidString(id):
		return fmt.Errorf("consumer group id %q is not UTF-8", id)
	}
	return nil
}
