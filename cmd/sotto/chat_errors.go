package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"syscall"

	"github.com/sottolabs/sotto/client"
	"github.com/sottolabs/sotto/crypto"
	"github.com/sottolabs/sotto/crypto/device"
	"github.com/sottolabs/sotto/crypto/keyconfig"
	"github.com/sottolabs/sotto/crypto/wire"
)

// devAllowList is where make run keeps the development allow-list.
const devAllowList = "dev/allow-list"

// hint is what the user reads under an error: what happened, what to do.
// Neither part carries request or reply content.
type hint struct{ happened, todo string }

func (h hint) wrap(err error) error {
	return fmt.Errorf("%w\n  what happened: %s\n  what to do: %s", err, h.happened, h.todo)
}

const forgetKeyConfig = "if the server's keys were re-created, delete the held key configuration " +
	"(--state, or dev/keyconfig-*.json with --dev, else ~/.config/sotto/keyconfig-*.json) and retry"

// problemHints explains every problem the server can send (crypto/wire);
// device, rate-limited, overloaded and request are completed at runtime.
var problemHints = map[string]hint{
	wire.ProblemEnvelope: {"the server could not open the request: malformed, or sealed to a key it does not hold",
		"check that --server and the pin belong to the same server; " + forgetKeyConfig},
	wire.ProblemDate: {"the request's time is outside the server's window, even after adjusting to the server's clock",
		"check this machine's clock (timedatectl), then retry"},
	wire.ProblemReplay: {"the server has already seen this request id",
		"retry (every attempt uses a fresh id); if it persists, the server's clock or replay register is at fault"},
	wire.ProblemTooLarge: {"the request is larger than the server accepts (its MAX_BODY_BYTES)",
		"shorten the message, or /reset: every turn resends the whole conversation"},
	wire.ProblemMediaType: {"the server does not accept this protocol's media type",
		"check that --server is a Sotto server of a compatible version"},
	wire.ProblemKey: {"the server refused the key the request was sealed to, and no newer key configuration signed by the pinned key was offered",
		"check the pin (on the server: sotto keys show --pin); " + forgetKeyConfig},
	wire.ProblemPoW: {"the server asked for proof of work and refused the answers (or the challenge kept expiring)",
		"retry; the server is protecting itself from load"},
	wire.ProblemInternal: {"the server failed while handling the request",
		"retry; if it persists, its operator can read the server's log (it never holds the conversation)"},
	wire.ProblemWorkerLost: {"the router's worker was lost after the request reached it, before it answered",
		"retry (every attempt uses a fresh id); the router sends it to a healthy worker"},
	wire.ProblemWorkerTimeout: {"the router's worker did not start answering in time",
		"retry (every attempt uses a fresh id); if it persists, the workers are overloaded or stuck"},
	wire.ProblemAttestation: {"the server refused this device's enrolment (its attestation, challenge or signature did not verify, or the device is revoked)",
		"retry the enrolment; if the code names a platform or environment, the server's SOTTO_ENROL_* settings do not accept this client (docs/enrolment.md)"},
}

// describeChatError adds what happened and what to do to err.
func describeChatError(err error, dev device.Key) error {
	var pe *client.ProblemError
	if errors.As(err, &pe) {
		return problemHint(pe, dev).wrap(err)
	}
	if h, ok := transportHint(err); ok {
		return h.wrap(err)
	}
	return err
}

func problemHint(pe *client.ProblemError, dev device.Key) hint {
	if h, ok := problemHints[pe.Name]; ok {
		return h
	}
	wait := "try again in a moment"
	if pe.RetryAfter > 0 {
		wait = fmt.Sprintf("try again in %s", pe.RetryAfter)
	}
	switch pe.Name {
	case wire.ProblemDevice:
		if chatOpts.enrolSoftware {
			return hint{"the server did not accept this device's enrolment credential, or it trusts only its allow-list",
				"check the server's SOTTO_DEVICE_POLICY (attested) and SOTTO_ENROL_* settings (docs/enrolment.md)"}
		}
		key := dev.String()
		if key == "" {
			key = "$(sotto device show --key DEVICE-KEY-FILE)"
		}
		return hint{"this device is not enrolled on the server (its key is not on the allow-list)",
			"on the server, run:\n    sotto device allow " + key + " --allow-list " + allowListHint() +
				"\n  then retry: the server re-reads its allow-list within a second of the change (no restart, no SIGHUP)"}
	case wire.ProblemRateLimited:
		return hint{"this device or address sent too many requests", wait}
	case wire.ProblemOverloaded:
		return hint{"every inference slot is busy and the queue is full, or the model is still loading", wait}
	case wire.ProblemRequest:
		return requestHint(pe.Code)
	}
	return hint{fmt.Sprintf("the server answered HTTP %d without a Sotto problem document", pe.Status),
		"check that --server points at a Sotto server, not another service or a proxy's error page"}
}

func allowListHint() string {
	if chatOpts.dev {
		return devAllowList
	}
	return "<the server's SOTTO_ALLOW_LIST file>"
}

// rangeFlags maps the request fields a range code names to the flags
// that set them (the others have no flag).
var rangeFlags = map[string]string{"max_tokens": "--max-tokens", "temperature": "--temperature", "seed": "--seed"}

// requestHint explains a #request code (crypto.Code*).
func requestHint(code string) hint {
	todo := "check the flags; this client builds valid requests, so the server may run another protocol version"
	switch {
	case code == crypto.CodeMaxTokens:
		todo = "lower --max-tokens (the server caps it with MAX_TOKENS_CAP)"
	case code == crypto.CodeContent || code == crypto.CodeMessages:
		todo = "shorten the message, or /reset the conversation"
	case code == crypto.CodeContext || code == crypto.CodeContextMaxTokens:
		return hint{"the conversation and --max-tokens do not fit the model's context (code " + code + ")",
			"/reset or shorten the conversation, or lower --max-tokens"}
	case code == crypto.CodeNUL:
		todo = "remove the NUL character from the message"
	case code == crypto.CodeTemplate:
		return hint{"the model's chat template cannot render this conversation (code template)",
			"start a new conversation; the server operator may need a model with a supported template"}
	case strings.HasPrefix(code, "range:"):
		field := strings.TrimPrefix(code, "range:")
		if flag, ok := rangeFlags[field]; ok {
			field = flag
		}
		todo = "bring " + field + " into the server's range"
	}
	return hint{"the server refused the request's parameters (code " + code + ")", todo}
}

// transportHint explains the failures that are not problem documents.
func transportHint(err error) (hint, bool) {
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	switch {
	case plainHTTPServer(err):
		return hint{"the server at " + chatOpts.server + " speaks plain HTTP, not TLS",
			"use http:// (the development server of make run: --server http://127.0.0.1:8080, or --dev)"}, true
	case errors.Is(err, syscall.ECONNREFUSED):
		return hint{"nothing answers at " + chatOpts.server, "start the server (make run), or check --server"}, true
	case errors.As(err, &unknownCA), errors.As(err, &hostErr):
		return hint{"the server's TLS certificate is not trusted for this address", "pass its CA with --ca-file, or check --server"}, true
	case errors.Is(err, keyconfig.ErrUnpinned):
		return hint{"the server's key configuration is not signed by the pinned key", "check --pin (on the server: sotto keys show --pin) and --server"}, true
	case errors.Is(err, client.ErrKeyConfig):
		return hint{"the server's key configuration failed verification or names no key of the chosen suite", "check --suite and the pin; " + forgetKeyConfig}, true
	case errors.Is(err, client.ErrPoWTooHard):
		return hint{"the server asks for more proof of work than this client accepts", "try again later, when the server is less loaded"}, true
	case errors.Is(err, crypto.ErrStreamTruncated), errors.Is(err, crypto.ErrStreamCorrupt):
		return hint{"the reply stream was cut or altered on the way", "retry; if it persists, check proxies between you and the server"}, true
	}
	return hint{}, false
}

// plainHTTPServer reports an https:// request answered in plain HTTP.
// net/http reports it as a bare string, so the text is matched; a TLS
// record that is no TLS at all is matched by type.
func plainHTTPServer(err error) bool {
	var rh tls.RecordHeaderError
	return errors.As(err, &rh) || strings.Contains(err.Error(), "server gave HTTP response to HTTPS client")
}

// describeFinishError explains a generation that failed after it began.
func describeFinishError(code string) error {
	h := hint{"the server stopped generating (code " + code + ")", "retry"}
	switch code {
	case "context_overflow":
		h.todo = "/reset or shorten the conversation, or lower --max-tokens: it no longer fits the model's context"
	case "overloaded":
		h.todo = "try again in a moment"
	case "slow_client":
		h.happened = "the reply was read too slowly and the server gave up"
	}
	return h.wrap(fmt.Errorf("chat: generation failed on the server (code %s)", code))
}
