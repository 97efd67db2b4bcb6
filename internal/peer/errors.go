package peer

import "errors"

var (
	// ErrUnknownNode is returned when a node's name is malformed, or not
	// in the static list.
	ErrUnknownNode = errors.New("unknown node")
	// ErrUnsigned is returned by Verify when a request claims to be
	// forwarded but lacks its stamp or signature.
	ErrUnsigned = errors.New("forwarded request not signed")
	// ErrStale is returned by Verify when a forwarded request's stamp is
	// further from this node's clock than MaxSkew.
	ErrStale = errors.New("forwarded request's stamp is stale")
	// ErrBadSignature is returned by Verify when a forwarded request's
	// signature does not match the cluster secret's.
	ErrBadSignature = errors.New("forwarded request's signature does not match")
	// ErrUnreachable is returned by Forward when the owner cannot be
	// reached or does not answer in time.
	ErrUnreachable = errors.New("peer unreachable")
	// ErrBusy is returned by Forward when every connection to the owner
	// is in use for longer than a forward waits.
	ErrBusy = errors.New("every connection to the peer is busy")
	// ErrNameTaken is returned by Directory.Claim when a node holds the
	// name.
	ErrNameTaken = errors.New("consumer instance name taken")
)
