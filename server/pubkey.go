package server

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/sottolabs/sotto/crypto/wire"
	"github.com/sottolabs/sotto/server/problem"
)

// handlePubkey serves the signed key configuration (protocol section 2).
func (s *Server) handlePubkey(c echo.Context) error {
	doc, err := s.keys.Document(s.now())
	if err != nil {
		s.log.Error("key config unavailable", "err", err)
		s.refuse(c.Response(), overloaded())
		return nil
	}
	h := c.Response().Header()
	h.Set("Cache-Control", "public, max-age=300")
	return c.Blob(http.StatusOK, wire.MediaTypeKeyConfig, doc)
}

// handleLive answers while the process serves HTTP at all.
func (s *Server) handleLive(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.Blob(http.StatusOK, wire.MediaTypeJSON, []byte(`{"status":"live"}`))
}

// handleReady answers 200 once the model and keys are loaded, 503 before.
// It carries no detail beyond that.
func (s *Server) handleReady(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "no-store")
	if !s.ready.Load() {
		problem.Write(c.Response(), *overloaded())
		return nil
	}
	return c.Blob(http.StatusOK, wire.MediaTypeJSON, []byte(`{"status":"ready"}`))
}
