package store

import (
	"fmt"
	"time"
)

// MaxInstances bounds the instances of one fan-out step.
const MaxInstances = 1000

// InstanceName names instance i of a fan-out step: step.i. A step's own
// name never has a dot, so no step is ever named like an instance.
func InstanceName(step string, i int) string { return fmt.Sprintf("%s.%d", step, i) }

// StepExpandParams are the arguments of [Store.StepExpand].
type StepExpandParams struct {
	RunID string
	Name  string
	// Items are the instances' items, in order: instance i is
	// [InstanceName](Name, i) for Items[i].
	Items []string
	Now   time.Time
	// Epoch fences the write; see [RunSetStatusParams.Epoch].
	Epoch int64
}

// CheckStepExpand checks the arguments of [Store.StepExpand].
func CheckStepExpand(p *StepExpandParams) error {
	if len(p.Items) > MaxInstances {
		return fmt.Errorf("%d items; a step fans out to at most %d", len(p.Items), MaxInstances)
	}
	return nil
}
