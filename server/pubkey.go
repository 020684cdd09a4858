package server

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/sottolabs/sotto/crypto/wire"
)

// handlePubkey serves the signed key configuration (protocol section 2)
// with the server's time in Date (section 2.1): a client whose clock is
// off learns it here, before it can accept a freshly issued document.
func (s *Server) handlePubkey(c echo.Context) error {
	now := s.now()
	doc, err := s.keys.Document(now)
	if err != nil {
		s.log.Error("key config unavailable", "err", err)
		s.refuse(c.Response(), overloaded())
		return nil
	}
	h := c.Response().Header()
	h.Set("Cache-Control", "public, max-age=300")
	h.Set("Date", now.UTC().Format(http.TimeFormat))
	return c.Blob(http.StatusOK, wire.MediaTypeKeyConfig, doc)
}
