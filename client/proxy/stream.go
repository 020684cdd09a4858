package proxy

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/sottolabs/sotto/client"
)

// sse writes a streamed reply as OpenAI chat.completion.chunk events. The
// status line is sent with the first text (or the end), so that a refusal
// before the stream is still an HTTP error status the SDKs type.
type sse struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	head    completion
	usage   bool // stream_options.include_usage
	started bool
}

// stream answers a streamed request. Cancelling ctx (the tool hung up)
// stops the reply: the client closes the stream and the server frees the
// slot.
func (x *exchange) stream(ctx context.Context, w http.ResponseWriter) {
	s := &sse{w: w, rc: http.NewResponseController(w), head: x.head}
	s.head.Object = "chat.completion.chunk"
	s.usage = x.req.StreamOptions != nil && x.req.StreamOptions.IncludeUsage
	res, err := x.chat(ctx, s.delta)
	switch {
	case err != nil && ctx.Err() != nil: // the tool is gone: nobody to answer
	case err != nil:
		s.fail(fromChatError(err))
	case failed(res):
		s.fail(finishError(res))
	default:
		s.finish(res)
	}
}

// start sends the status line and the first chunk, which carries the role.
func (s *sse) start() error {
	if s.started {
		return nil
	}
	s.started = true
	h := s.w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	s.w.WriteHeader(http.StatusOK)
	empty := ""
	return s.chunk(&message{Role: client.RoleAssistant, Content: &empty}, nil)
}

// delta sends one piece of text (whole UTF-8 characters: protocol 5.2).
func (s *sse) delta(text []byte) error {
	if err := s.start(); err != nil {
		return err
	}
	out := string(text)
	return s.chunk(&message{Content: &out}, nil)
}

// finish sends the finish reason, the usage chunk when asked for, and
// [DONE].
func (s *sse) finish(res client.Result) {
	if s.start() != nil {
		return
	}
	reason := res.FinishReason
	if s.chunk(&message{}, &reason) != nil {
		return
	}
	if s.usage {
		c := s.head
		c.Choices, c.Usage = []choice{}, usageOf(res)
		if s.event(c) != nil {
			return
		}
	}
	_ = s.write([]byte("data: [DONE]\n\n"))
}

// fail reports e: as the response before the stream starts, else as an
// error event, which the OpenAI SDKs raise as an APIError.
func (s *sse) fail(e *apiError) {
	if !s.started {
		e.write(s.w)
		return
	}
	if sw, ok := s.w.(*statusWriter); ok {
		sw.code = e.Code
	}
	_ = s.event(struct {
		Error *apiError `json:"error"`
	}{e})
}

// chunk sends one chat.completion.chunk with one choice.
func (s *sse) chunk(delta *message, reason *string) error {
	c := s.head
	c.Choices = []choice{{Delta: delta, FinishReason: reason}}
	return s.event(c)
}

func (s *sse) event(v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	msg := make([]byte, 0, len(data)+8)
	msg = append(append(append(msg, "data: "...), data...), "\n\n"...)
	err = s.write(msg)
	clear(data)
	clear(msg)
	return err
}

func (s *sse) write(b []byte) error {
	if _, err := s.w.Write(b); err != nil {
		return err
	}
	return s.rc.Flush()
}
