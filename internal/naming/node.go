package naming

// NodeByte reports whether b may stand in a krest node's name, as
// consumer instance ids and peer URLs carry it: an ASCII letter or digit,
// '.' or '_' (never '-', which ends the name in an instance id).
func NodeByte(b byte) bool {
	return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || b == '.' || b == '_'
}
