package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sottolabs/sotto/client"
	"github.com/sottolabs/sotto/crypto"
	"github.com/sottolabs/sotto/crypto/wire"
)

// The error types of the OpenAI API, which the SDKs and tools read.
const (
	typeInvalidRequest = "invalid_request_error"
	typeAuthentication = "authentication_error"
	typePermission     = "permission_error"
	typeNotFound       = "not_found_error"
	typeRateLimit      = "rate_limit_error"
	typeServer         = "server_error"
)

// apiError is an OpenAI-shaped error: {"error":{"message","type","param",
// "code"}} with an HTTP status the OpenAI SDKs map to their typed errors
// (400 BadRequestError, 401 AuthenticationError, 403
// PermissionDeniedError, 404 NotFoundError, 429 RateLimitError, 5xx
// InternalServerError). Its message names fields and Sotto problems,
// never the content of a request or reply.
type apiError struct {
	status     int
	retryAfter time.Duration
	Message    string  `json:"message"`
	Type       string  `json:"type"`
	Param      *string `json:"param"`
	Code       string  `json:"code"`
}

func (e *apiError) Error() string { return "proxy: " + e.Message }

func badRequest(param, code, msg string) *apiError {
	e := &apiError{status: http.StatusBadRequest, Type: typeInvalidRequest, Code: code, Message: msg}
	if param != "" {
		e.Param = &param
	}
	return e
}

func unsupportedParam(param, msg string) *apiError {
	return badRequest(param, "unsupported_parameter", msg+" by this Sotto proxy")
}

// write sends e as the response.
func (e *apiError) write(w http.ResponseWriter) {
	if sw, ok := w.(*statusWriter); ok {
		sw.code = e.Code
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	if e.retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(int((e.retryAfter+time.Second-1)/time.Second)))
	}
	w.WriteHeader(e.status)
	_ = json.NewEncoder(w).Encode(struct {
		Error *apiError `json:"error"`
	}{e})
}

// requestParams maps the #request codes that name a parameter.
var requestParams = map[string]string{
	crypto.CodeMaxTokens: "max_tokens", crypto.CodeTemperature: "temperature", crypto.CodeTopP: "top_p",
	crypto.CodeSeed: "seed", crypto.CodeStop: "stop", crypto.CodeMessages: "messages",
	crypto.CodeRole: "messages", crypto.CodeContent: "messages", crypto.CodeNUL: "messages",
	crypto.CodeTemplate: "messages",
}

// fromChatError maps an error of client.Chat to the error the tool sees.
func fromChatError(err error) *apiError {
	var pe *client.ProblemError
	if errors.As(err, &pe) {
		return fromProblem(pe)
	}
	srv := func(status int, code, msg string) *apiError {
		return &apiError{status: status, Type: typeServer, Code: code, Message: msg}
	}
	switch {
	case errors.Is(err, client.ErrInvalidRequest):
		return badRequest("messages", "invalid_request", "the request cannot be sealed: "+
			strings.TrimPrefix(err.Error(), client.ErrInvalidRequest.Error()+": "))
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return srv(499, "cancelled", "the request was cancelled")
	case errors.Is(err, syscall.ECONNREFUSED):
		return srv(http.StatusBadGateway, "sotto_server_unreachable", "the Sotto server does not answer (connection refused)")
	case errors.Is(err, client.ErrKeyConfig):
		return srv(http.StatusBadGateway, "sotto_key_config",
			"the Sotto server's key configuration failed verification against the pinned key, or names no usable key")
	case errors.Is(err, client.ErrPoWTooHard):
		return &apiError{status: http.StatusTooManyRequests, Type: typeRateLimit, Code: "rate_limit_exceeded",
			Message: "the Sotto server asks for more proof of work than this proxy solves; it is under load, retry later"}
	case errors.Is(err, crypto.ErrStreamTruncated), errors.Is(err, crypto.ErrStreamCorrupt), errors.Is(err, client.ErrResponse):
		return srv(http.StatusBadGateway, "sotto_bad_reply", "the Sotto server's reply was cut or altered on the way")
	}
	return srv(http.StatusBadGateway, "sotto_server_unreachable", "the Sotto server could not be reached")
}

// fromProblem maps a Sotto problem document.
func fromProblem(pe *client.ProblemError) *apiError {
	e := &apiError{status: http.StatusBadGateway, Type: typeServer, Code: "sotto_" + pe.Name,
		Message: "the Sotto server refused the request (" + pe.Name + ")"}
	switch pe.Name {
	case wire.ProblemRequest:
		return fromRequestCode(pe.Code)
	case wire.ProblemRateLimited, wire.ProblemPoW:
		e.status, e.Type, e.Code = http.StatusTooManyRequests, typeRateLimit, "rate_limit_exceeded"
		e.Message = "the Sotto server's rate limit for this device was reached; retry later"
	case wire.ProblemOverloaded:
		e.status, e.Code = http.StatusServiceUnavailable, "overloaded"
		e.Message = "every inference slot of the Sotto server is busy; retry later"
	case wire.ProblemDevice:
		e.status, e.Type, e.Code = http.StatusForbidden, typePermission, "device_not_enrolled"
		e.Message = "this device key is not enrolled on the Sotto server: its operator adds it with " +
			"sotto device allow (the key is printed by sotto device show)"
	case wire.ProblemTooLarge:
		e.status, e.Type, e.Code = http.StatusBadRequest, typeInvalidRequest, "context_length_exceeded"
		e.Message = "the conversation is larger than the Sotto server accepts"
	case wire.ProblemInternal:
		e.status = http.StatusInternalServerError
	case "":
		e.Code, e.Message = "sotto_bad_reply", "the Sotto server answered HTTP "+strconv.Itoa(pe.Status)+" without a problem document"
	}
	e.retryAfter = pe.RetryAfter
	return e
}

// fromRequestCode maps a #request code (crypto.Code*).
func fromRequestCode(code string) *apiError {
	switch code {
	case crypto.CodeContext, crypto.CodeContextMaxTokens:
		return badRequest("messages", "context_length_exceeded",
			"the messages and max_tokens do not fit the model's context (code "+code+")")
	}
	param := requestParams[code]
	if p, ok := strings.CutPrefix(code, "range:"); ok && param == "" {
		param = p
	}
	return badRequest(param, "invalid_value", "the Sotto server refused the request's parameters (code "+code+")")
}

// finishError maps a generation that failed after it began (a final
// chunk with finish reason "error", or "cancelled" by a server shutting
// down).
func finishError(res client.Result) *apiError {
	code := res.ErrorCode
	if res.FinishReason == crypto.FinishCancelled {
		code = "cancelled"
	}
	e := &apiError{status: http.StatusInternalServerError, Type: typeServer, Code: "sotto_" + code,
		Message: "the Sotto server stopped generating (code " + code + ")"}
	switch code {
	case "context_overflow":
		e.status, e.Type, e.Code = http.StatusBadRequest, typeInvalidRequest, "context_length_exceeded"
	case "overloaded", "cancelled":
		e.status = http.StatusServiceUnavailable
	}
	return e
}
