package server

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/sottolabs/sotto/crypto/wire"
	"github.com/sottolabs/sotto/server/problem"
)

// notReadyRetry is the Retry-After of answers refused while the model
// loads or the process drains.
const notReadyRetry = 5 * time.Second

// The health probes answer from this file alone, one handler per path:
// GET /health/live while the process serves HTTP at all (also while the
// model loads); GET /health/ready and /health once an engine is attached
// and until shutdown begins, 503 #overloaded otherwise. Neither carries
// detail beyond that.

func (s *Server) handleLive(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.Blob(http.StatusOK, wire.MediaTypeJSON, []byte(`{"status":"live"}`))
}

func (s *Server) handleReady(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "no-store")
	if !s.ready.Load() {
		problem.Write(c.Response(), problem.OverloadedAfter(notReadyRetry))
		return nil
	}
	return c.Blob(http.StatusOK, wire.MediaTypeJSON, []byte(`{"status":"ready"}`))
}

// capacity is the worker's load as the router reads it (GET
// /api/capacity, on the worker's mutual-TLS listener only).
type capacity struct {
	Ready      bool `json:"ready"`
	Slots      int  `json:"slots"`
	Busy       int  `json:"busy"`
	Queued     int  `json:"queued"`
	QueueDepth int  `json:"queue_depth"`
}

func (s *Server) handleCapacity(c echo.Context) error {
	es := s.engineStats()
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, capacity{Ready: s.ready.Load(), Slots: es.Slots, Busy: es.BusySlots,
		Queued: es.Queued, QueueDepth: s.opts.QueueDepth})
}
