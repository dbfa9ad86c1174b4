package aci

import (
	"testing"

	"github.com/baton-dev/baton/internal/executor"
	"github.com/baton-dev/baton/internal/executor/executortest"
)

// TestConformance runs the executor suite against the fake of Azure
// Container Instances, which plays each case's script (see fake_test.go):
// the cases that need a command that really runs are skipped, saying so.
func TestConformance(t *testing.T) {
	executortest.RunPlayed(t, func(t *testing.T) executor.Executor {
		return newFakeExecutor(t, newFakeACI(realClock{}))
	}, executortest.Player{
		Name:  "the fake of Azure Container Instances",
		Image: "bats.azurecr.io/step:1",
		Play: func(t *testing.T, spec *executor.Spec, s executortest.Script) {
			withScript(t, spec, fakeScript{ExitCode: int32(s.ExitCode), Logs: texts(s.Logs), UntilStopped: s.UntilStopped})
		},
		Logs:      true,
		OneStream: true,
	})
}
