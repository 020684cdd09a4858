package proxy

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/sottolabs/sotto/client"
)

// maxBodyBytes bounds a tool's request body: the protocol's inner request
// is at most 256 KiB of text, and JSON escaping can make a body several
// times its text.
const maxBodyBytes = 4 << 20

// chatRequest is the part of an OpenAI chat completion request the proxy
// reads. Members it does not know are ignored (the SDKs add new ones all
// the time); members whose meaning Sotto cannot honour are refused in
// toClient.
type chatRequest struct {
	Model               string          `json:"model"`
	Messages            []chatMessage   `json:"messages"`
	MaxTokens           *int            `json:"max_tokens"`
	MaxCompletionTokens *int            `json:"max_completion_tokens"`
	Temperature         *float64        `json:"temperature"`
	TopP                *float64        `json:"top_p"`
	Stop                stopList        `json:"stop"`
	Seed                *int64          `json:"seed"`
	Stream              bool            `json:"stream"`
	StreamOptions       *streamOptions  `json:"stream_options"`
	N                   *int            `json:"n"`
	Logprobs            bool            `json:"logprobs"`
	TopLogprobs         *int            `json:"top_logprobs"`
	Tools               json.RawMessage `json:"tools"`
	Functions           json.RawMessage `json:"functions"`
	ToolChoice          json.RawMessage `json:"tool_choice"`
	ResponseFormat      *responseFormat `json:"response_format"`
	Audio               json.RawMessage `json:"audio"`
	Modalities          []string        `json:"modalities"`
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

type responseFormat struct {
	Type string `json:"type"`
}

// chatMessage is one message; Content is a string, an array of content
// parts, or null.
type chatMessage struct {
	Role       string          `json:"role"`
	Content    content         `json:"content"`
	ToolCalls  json.RawMessage `json:"tool_calls"`
	ToolCallID string          `json:"tool_call_id"`
}

// content is a message's text. A part that is not text (an image, audio,
// a file) sets nonText, and the request is refused.
type content struct {
	text    string
	nonText bool
}

func (c *content) UnmarshalJSON(data []byte) error {
	if bytes.Equal(data, []byte("null")) {
		return nil
	}
	if len(data) > 0 && data[0] == '"' {
		return json.Unmarshal(data, &c.text)
	}
	var parts []struct {
		Type string  `json:"type"`
		Text *string `json:"text"`
	}
	if err := json.Unmarshal(data, &parts); err != nil {
		return errors.New("content is neither a string nor an array of parts")
	}
	texts := make([]string, 0, len(parts))
	for _, p := range parts {
		if p.Type != "text" || p.Text == nil {
			c.nonText = true
			continue
		}
		texts = append(texts, *p.Text)
	}
	c.text = strings.Join(texts, "\n")
	return nil
}

// stopList is "stop": a string, an array of strings, or null.
type stopList []string

func (s *stopList) UnmarshalJSON(data []byte) error {
	if bytes.Equal(data, []byte("null")) {
		*s = nil
		return nil
	}
	if len(data) > 0 && data[0] == '"' {
		var one string
		if err := json.Unmarshal(data, &one); err != nil {
			return err
		}
		*s = stopList{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(data, &many); err != nil {
		return errors.New("stop is neither a string nor an array of strings")
	}
	*s = many
	return nil
}

// decodeRequest reads a chat request. Its errors never quote the body:
// encoding/json's syntax errors name the offending character, so they are
// replaced by a fixed message.
func decodeRequest(r io.Reader) (*chatRequest, *apiError) {
	data, err := io.ReadAll(io.LimitReader(r, maxBodyBytes+1))
	if err != nil {
		return nil, badRequest("", "invalid_body", "the request body could not be read")
	}
	if len(data) > maxBodyBytes {
		return nil, &apiError{status: 413, Type: typeInvalidRequest, Code: "request_too_large",
			Message: "the request body is larger than the proxy accepts (4 MiB)"}
	}
	if !utf8.Valid(data) { // encoding/json would silently turn it into U+FFFD
		return nil, badRequest("", "invalid_encoding", "the request body is not valid UTF-8")
	}
	var req chatRequest
	if err := json.Unmarshal(data, &req); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return nil, badRequest(te.Field, "invalid_type", "invalid type for "+te.Field)
		}
		return nil, badRequest("", "invalid_json", "the request body is not a valid chat completion request (JSON)")
	}
	return &req, nil
}

// toClient maps req to a Sotto request, or refuses what Sotto cannot do.
// Messages name fields only, never their content.
func (req *chatRequest) toClient() (client.Request, *apiError) {
	if e := req.unsupported(); e != nil {
		return client.Request{}, e
	}
	out := client.Request{Temperature: req.Temperature, TopP: req.TopP, Stop: req.Stop}
	if len(req.Messages) == 0 {
		return out, badRequest("messages", "invalid_value", "messages must hold at least one message")
	}
	out.Messages = make([]client.Message, len(req.Messages))
	for i, m := range req.Messages {
		msg, e := m.toClient(i)
		if e != nil {
			return out, e
		}
		out.Messages[i] = msg
	}
	switch {
	case req.MaxCompletionTokens != nil:
		out.MaxTokens = *req.MaxCompletionTokens
	case req.MaxTokens != nil:
		out.MaxTokens = *req.MaxTokens
	}
	if out.MaxTokens < 0 || (out.MaxTokens == 0 && (req.MaxTokens != nil || req.MaxCompletionTokens != nil)) {
		return out, badRequest("max_tokens", "invalid_value", "max_tokens must be at least 1")
	}
	if req.Seed != nil {
		if *req.Seed < 0 {
			return out, badRequest("seed", "invalid_value", "seed must not be negative")
		}
		s := uint64(*req.Seed)
		out.Seed = &s
	}
	return out, nil
}

// unsupported refuses the members whose meaning Sotto cannot honour.
func (req *chatRequest) unsupported() *apiError {
	switch {
	case req.N != nil && *req.N != 1:
		return unsupportedParam("n", "only one choice per request (n = 1) is supported")
	case req.Logprobs || req.TopLogprobs != nil:
		return unsupportedParam("logprobs", "log probabilities are not supported")
	case present(req.Tools) || present(req.Functions):
		return unsupportedParam("tools", "tools and function calling are not supported")
	case present(req.ToolChoice) && !bytes.Equal(bytes.TrimSpace(req.ToolChoice), []byte(`"none"`)):
		return unsupportedParam("tool_choice", "tools and function calling are not supported")
	case req.ResponseFormat != nil && req.ResponseFormat.Type != "" && req.ResponseFormat.Type != "text":
		return unsupportedParam("response_format", "only text responses are supported (no JSON mode or schema)")
	case present(req.Audio) || (len(req.Modalities) > 0 && !(len(req.Modalities) == 1 && req.Modalities[0] == "text")):
		return unsupportedParam("modalities", "only text output is supported")
	}
	return nil
}

// toClient maps message i.
func (m *chatMessage) toClient(i int) (client.Message, *apiError) {
	param := "messages[" + strconv.Itoa(i) + "]"
	role := m.Role
	switch role {
	case client.RoleSystem, client.RoleUser, client.RoleAssistant:
	case "developer": // the newer name of system for reasoning models
		role = client.RoleSystem
	case "tool", "function":
		return client.Message{}, unsupportedParam(param+".role", "tool messages are not supported")
	default:
		return client.Message{}, badRequest(param+".role", "invalid_value", "unknown role in "+param)
	}
	if present(m.ToolCalls) || m.ToolCallID != "" {
		return client.Message{}, unsupportedParam(param+".tool_calls", "tool calls are not supported")
	}
	if m.Content.nonText {
		return client.Message{}, unsupportedParam(param+".content", "only text content parts are supported (no images, audio or files)")
	}
	return client.Message{Role: role, Content: m.Content.text}, nil
}

// present reports whether a raw member was given and is not null or empty.
func present(raw json.RawMessage) bool {
	s := string(bytes.TrimSpace(raw))
	return s != "" && s != "null" && s != "[]"
}
