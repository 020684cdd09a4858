package server

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/sottolabs/sotto/crypto/wire"
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
