package node

import (
	"maps"
	"testing"
)

// TestRouterConfigFromPlan: the body settings a server uses reach the
// router too (issue 17 item 1: SOTTO_INFLIGHT_BODY_BYTES reached nothing
// on a router).
func TestRouterConfigFromPlan(t *testing.T) {
	vars := maps.Clone(routerBase)
	vars["SOTTO_INFLIGHT_BODY_BYTES"], vars["MAX_BODY_BYTES"] = "1000000", "100000"
	cfg := (&Node{plan: planOf(t, vars)}).routerConfig(nil)
	if cfg.InflightBodyBytes != 1000000 || cfg.MaxBodyBytes != 100000 {
		t.Fatalf("router body limits %d in flight, %d per body; want 1000000 and 100000", cfg.InflightBodyBytes, cfg.MaxBodyBytes)
	}
}
