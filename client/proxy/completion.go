package proxy

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"mime"
	"net/http"

	"github.com/sottolabs/sotto/client"
	"github.com/sottolabs/sotto/crypto"
	"github.com/sottolabs/sotto/crypto/wire"
)

// completion is a non-streamed reply (object "chat.completion").
type completion struct {
	ID      string   `json:"id"`
	Object  string   `json:"object"`
	Created int64    `json:"created"`
	Model   string   `json:"model"`
	Choices []choice `json:"choices"`
	Usage   *usage   `json:"usage,omitempty"`
}

type choice struct {
	Index        int       `json:"index"`
	Message      *message  `json:"message,omitempty"`
	Delta        *message  `json:"delta,omitempty"`
	Logprobs     *struct{} `json:"logprobs"`
	FinishReason *string   `json:"finish_reason"`
}

type message struct {
	Role    string  `json:"role,omitempty"`
	Content *string `json:"content,omitempty"`
}

type usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

func usageOf(res client.Result) *usage {
	return &usage{res.PromptTokens, res.CompletionTokens, res.PromptTokens + res.CompletionTokens}
}

// exchange is one chat completion being answered.
type exchange struct {
	p         *Proxy
	req       *chatRequest
	sreq      client.Request
	continued bool       // the request continues a conversation the proxy knows
	head      completion // id, object, created, model
}

// handleCompletions answers POST /v1/chat/completions.
func (p *Proxy) handleCompletions(w http.ResponseWriter, r *http.Request) {
	// Only JSON: a web page cannot send it to the proxy without a CORS
	// preflight, which the proxy does not answer.
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		e := badRequest("", "invalid_content_type", "the request body must be application/json")
		e.status = http.StatusUnsupportedMediaType
		e.write(w)
		return
	}
	req, e := decodeRequest(r.Body)
	if e != nil {
		e.write(w)
		return
	}
	sreq, e := req.toClient()
	if e != nil {
		e.write(w)
		return
	}
	conv, continued := p.cfg.Conversations.Match(sreq.Messages)
	defer conv.Forget()
	sreq.Conversation = conv
	x := &exchange{p: p, req: req, sreq: sreq, continued: continued, head: completion{
		ID: newID(), Created: p.cfg.Now().Unix(), Model: p.cfg.Model}}
	if req.Stream {
		x.stream(r.Context(), w)
		return
	}
	x.complete(r.Context(), w)
}

// chat sends the request. A server that predates the conversation cache
// refuses its member (#request code member); the request is then resent
// without it, as protocol 3.2.1 allows.
// Its debug line holds counts and codes only: the client's errors quote
// no content.
func (x *exchange) chat(ctx context.Context, onDelta func([]byte) error) (client.Result, error) {
	res, err := x.p.cfg.Client.Chat(ctx, x.sreq, onDelta)
	var pe *client.ProblemError
	if errors.As(err, &pe) && pe.Name == wire.ProblemRequest && pe.Code == crypto.CodeMember && x.sreq.Conversation != nil {
		x.sreq.Conversation = nil
		res, err = x.p.cfg.Client.Chat(ctx, x.sreq, onDelta)
	}
	x.p.cfg.Log.Debug("proxy: chat", "messages", len(x.sreq.Messages), "continued", x.continued,
		"stream", x.req.Stream, "finish", res.FinishReason, "prompt_tokens", res.PromptTokens,
		"completion_tokens", res.CompletionTokens, "error", err)
	return res, err
}

// complete answers a non-streamed request once the reply is whole.
func (x *exchange) complete(ctx context.Context, w http.ResponseWriter) {
	var text bytes.Buffer
	defer func() { clear(text.Bytes()) }()
	res, err := x.chat(ctx, func(b []byte) error {
		text.Write(b)
		return nil
	})
	if err != nil {
		if ctx.Err() == nil { // else the tool is gone: nobody to answer
			fromChatError(err).write(w)
		}
		return
	}
	if failed(res) {
		finishError(res).write(w)
		return
	}
	s := text.String() // whole UTF-8 characters (protocol 5.2)
	reason := res.FinishReason
	out := x.head
	out.Object = "chat.completion"
	out.Choices = []choice{{Message: &message{Role: client.RoleAssistant, Content: &s}, FinishReason: &reason}}
	out.Usage = usageOf(res)
	writeJSON(w, out)
}

// failed reports whether a final chunk ends the reply without success.
func failed(res client.Result) bool {
	return res.FinishReason != crypto.FinishStop && res.FinishReason != crypto.FinishLength
}

// newID returns a fresh completion id.
func newID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "chatcmpl-" + hex.EncodeToString(b[:])
}
