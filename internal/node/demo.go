package node

import (
	"fmt"

	"github.com/sottolabs/sotto/internal/demomodel"
	"github.com/sottolabs/sotto/llama"
)

// modelPath returns the path of the model to load: the plan's, or, when
// none is configured (development only, see server/config), the embedded
// demo model with its story template, announced loudly once. release
// frees the demo's file once llama.cpp has loaded it.
func (n *Node) modelPath(mp *llama.ModelParams) (path string, release func(), err error) {
	if n.plan.ModelPath != "" {
		return n.plan.ModelPath, func() {}, nil
	}
	f, err := demomodel.Open()
	if err != nil {
		return "", nil, fmt.Errorf("node: %w", err)
	}
	mp.Template = demomodel.Template
	n.log.Warn(demomodel.Notice, "model", demomodel.Name, "sha256", demomodel.SHA256)
	return f.Path(), func() { f.Close() }, nil
}
