package api

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/valyala/fasthttp"

	"krest/internal/admin"
	"krest/internal/auth"
	"krest/internal/consumers"
	"krest/internal/kafka"
	"krest/internal/produce"
	"krest/internal/queue"
)

// apiError is an error response: its HTTP status and the JSON body
// {"error_code": Code, "message": Message}. Codes follow Confluent REST
// Proxy: the HTTP status, or the status×100+n for a more precise cause.
type apiError struct {
	Status  int
	Code    int
	Message string
}

func (e *apiError) Error() string { return e.Message }

// errorBody is the JSON form of every error response.
type errorBody struct {
	ErrorCode int    `json:"error_code"`
	Message   string `json:"message"`
}

// retryAfterSeconds is the Retry-After sent with 429 and 503 answers: the
// condition behind them (a leader election, a full buffer) usually passes
// within a second.
const retryAfterSeconds = 1

// Error codes used in more than one place.
const (
	codeMalformedJSON     = 40001
	codeInvalidField      = 40002
	codeEmptyBody         = 40003
	codeBodyTooLarge      = 41301
	codeUnsupportedMedia  = 41501
	codeTooManyRequests   = 42901
	codeKafkaUnavailable  = 50301
	codeProducerBufFull   = 50302
	codeNotReady          = 50303
	codeProduceTimeout    = 50401
	codeInternal          = 50001
	codeKafkaRejected     = 50002
	codeTopicNotFound     = 40401
	codePartitionNotFound = 40402
	codeRecordTooLarge    = 41302

	// Codes of the REST Proxy metadata and admin routes, as upstream
	// answers them.
	codeNotAuthorized         = 40301 // the broker denied the operation
	codeUnknownTopicPartition = 40403 // v3's unknown topic (Kafka's UNKNOWN_TOPIC_OR_PARTITION)
	codeInvalidPayload        = 42206 // a well-formed body that cannot be served (an invalid topic name)
	codeKafkaRetriable        = 50003 // a retriable Kafka error; krest answers 503 where upstream answers 500

	// Codes of the REST Proxy produce routes, as upstream answers them.
	codeJSONConversion = 42203 // a key, value or header does not convert to bytes
	codeSchemaRequired = 42205 // an embedded format that needs a Schema Registry
)

// errorFor maps any error a handler meets to its response. It is the one
// place that decides statuses and codes.
func errorFor(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	var ue *errUnauthenticated
	if errors.As(err, &ue) {
		return &apiError{http.StatusUnauthorized, codeUnauthenticated, "Unauthorized: " + ue.reason}
	}
	if errors.Is(err, consumers.ErrNotFound) {
		return &apiError{http.StatusNotFound, codeInstanceNotFound, "Consumer instance not found."}
	}
	for _, m := range []struct {
		err    error
		status int
		code   int
	}{
		{produce.ErrNotWritten, http.StatusServiceUnavailable, codeKafkaUnavailable},
		{produce.ErrClosed, http.StatusServiceUnavailable, codeKafkaUnavailable},
		{produce.ErrBufferFull, http.StatusServiceUnavailable, codeProducerBufFull},
		{produce.ErrTimeout, http.StatusGatewayTimeout, codeProduceTimeout},

		{kafka.ErrTooLarge, http.StatusRequestEntityTooLarge, codeRecordTooLarge},
		{kafka.ErrTopicNotFound, http.StatusNotFound, codeTopicNotFound},
		{kafka.ErrPartitionNotFound, http.StatusNotFound, codePartitionNotFound},
		{kafka.ErrGroupNotFound, http.StatusNotFound, http.StatusNotFound},
		{kafka.ErrTopicExists, http.StatusBadRequest, codeInvalidField},
		{kafka.ErrInvalidRequest, http.StatusBadRequest, codeInvalidField},
		{kafka.ErrNotAuthorized, http.StatusForbidden, codeNotAuthorized},
		{kafka.ErrAuthentication, http.StatusServiceUnavailable, codeKafkaRetriable},
		{kafka.ErrUnavailable, http.StatusServiceUnavailable, codeKafkaRetriable},
		{kafka.ErrRejected, http.StatusInternalServerError, codeKafkaRejected},

		{consumers.ErrExists, http.StatusConflict, codeInstanceExists},
		{consumers.ErrIllegalState, http.StatusConflict, codeIllegalState},
		{consumers.ErrInvalidConfig, http.StatusUnprocessableEntity, codeConsumerConfig},
		{consumers.ErrTooMany, http.StatusServiceUnavailable, codeTooManyInstances},
		{consumers.ErrClosed, http.StatusServiceUnavailable, codeKafkaUnavailable},

		{queue.ErrInvalid, http.StatusBadRequest, codeInvalidField},
		{queue.ErrBusy, http.StatusTooManyRequests, codeTooManyRequests},
		{queue.ErrUnsupported, http.StatusNotImplemented, codeUnsupported},
		{queue.ErrClosed, http.StatusServiceUnavailable, codeKafkaUnavailable},

		{admin.ErrBrokerNotFound, http.StatusNotFound, http.StatusNotFound},
		{admin.ErrConsumerNotFound, http.StatusNotFound, http.StatusNotFound},
		{admin.ErrConfigNotFound, http.StatusNotFound, http.StatusNotFound},
	} {
		if errors.Is(err, m.err) {
			return &apiError{m.status, m.code, err.Error()}
		}
	}
	return &apiError{http.StatusInternalServerError, codeInternal, "internal error"}
}

// v3ErrorFor is errorFor for API v3, which answers an unknown topic with
// upstream's code and text instead of v2's 40401.
func v3ErrorFor(err error) *apiError {
	if errors.Is(err, kafka.ErrTopicNotFound) {
		return &apiError{http.StatusNotFound, codeUnknownTopicPartition, "This server does not host this topic-partition."}
	}
	return errorFor(err)
}

// recordErrorCode is the error_code a produce answer gives in place of a
// record the broker did not take: 40401 or 40402 for a missing topic or
// partition, 50003 for a failure a retry may fix (errorFor answers it 503
// or 504), 50002 for any other Kafka error.
func recordErrorCode(err error) int {
	switch ae := errorFor(err); {
	case ae.Code == codeTopicNotFound || ae.Code == codePartitionNotFound || ae.Code == codeNotAuthorized:
		return ae.Code
	case ae.Status == http.StatusServiceUnavailable || ae.Status == http.StatusGatewayTimeout:
		return codeKafkaRetriable
	default:
		return codeKafkaRejected
	}
}

// refusesRequest reports whether err, a record's, answers for its whole
// request: the topic does not exist, or the brokers let the caller not
// write it.
func refusesRequest(err error) bool {
	return errors.Is(err, kafka.ErrTopicNotFound) || errors.Is(err, kafka.ErrNotAuthorized)
}

// errorForRoute is errorFor in the codes of c's API version.
func errorForRoute(c *call, err error) *apiError {
	if c.route != nil && c.route.version == apiV3 {
		return v3ErrorFor(err)
	}
	return errorFor(err)
}

// writeError answers err and returns the status answered: its status, or
// statusClientGone (nothing written) when the client went away. A 5xx
// keeps err as the request's cause, for the log.
func (s *Server) writeError(c *call, err error) int {
	if errors.Is(err, errClientGone) {
		c.fctx.SetConnectionClose()
		return statusClientGone
	}
	if c.asPrincipal && errors.Is(err, kafka.ErrAuthentication) || errors.Is(err, auth.ErrUnauthenticated) {
		// The brokers refused the caller's own login.
		c.cause = err
		err = &errUnauthenticated{"Kafka refused the credentials"}
	}
	ae := errorForRoute(c, err)
	if ae.Status >= 500 && c.cause == nil {
		c.cause = err
	}
	if ae.Status == http.StatusUnauthorized {
		s.opts.Security.challenge(c)
	}
	writeErrorBody(c.fctx, ae)
	return ae.Status
}

// writeErrorBody writes ae as the answer; 429 and 503 carry Retry-After.
// The content type stays a JSON type the route already set (v2's).
func writeErrorBody(fctx *fasthttp.RequestCtx, ae *apiError) {
	if ae.Status == http.StatusServiceUnavailable || ae.Status == http.StatusTooManyRequests {
		fctx.Response.Header.Set("Retry-After", strconv.Itoa(retryAfterSeconds))
	}
	b := append(appendErrorBody(nil, ae.Code, ae.Message), '\n')
	if len(fctx.Response.Header.ContentType()) == 0 {
		fctx.SetContentType("application/json")
	}
	fctx.SetStatusCode(ae.Status)
	fctx.SetBody(b)
}

// appendErrorBody appends {"error_code":code,"message":msg} to b, as
// encoding/json writes it.
func appendErrorBody(b []byte, code int, msg string) []byte {
	b = strconv.AppendInt(append(b, `{"error_code":`...), int64(code), 10)
	b = appendJSONString(append(b, `,"message":`...), msg)
	return append(b, '}')
}
