package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/baton-dev/baton/internal/contract"
	"github.com/baton-dev/baton/internal/engine"
	"github.com/baton-dev/baton/internal/store"
)

// Approval is a step's wait for a person's decision, and the decision
// once taken.
type Approval struct {
	Message string    `json:"message,omitempty"`
	Since   time.Time `json:"since"`
	// Deadline is when the wait times out; absent when it never does.
	Deadline *time.Time `json:"deadline,omitempty"`
	// Decided says someone approved or rejected it; the fields after it
	// are set only then.
	Decided   bool              `json:"decided"`
	Approved  bool              `json:"approved,omitempty"`
	DecidedBy string            `json:"decided_by,omitempty"`
	DecidedAt *time.Time        `json:"decided_at,omitempty"`
	Reason    string            `json:"reason,omitempty"`
	Values    map[string]string `json:"values,omitempty"`
}

// ApprovalRequest is the body of a decision.
type ApprovalRequest struct {
	Approve bool              `json:"approve"`
	Reason  string            `json:"reason,omitempty"`
	Values  map[string]string `json:"values,omitempty"`
}

func approvalJSON(a *store.ApprovalRow) *Approval {
	return &Approval{
		Message: a.Message, Since: a.Since, Deadline: timePtr(a.Deadline),
		Decided: a.Decided(), Approved: a.Approved, DecidedBy: a.DecidedBy, DecidedAt: timePtr(a.DecidedAt),
		Reason: a.Reason, Values: a.Values,
	}
}

// withApprovals puts each step's approval on it.
func withApprovals(ctx context.Context, st store.Store, runID string, steps []Step) error {
	rows, err := st.ApprovalList(ctx, runID)
	if err != nil {
		return err
	}
	for _, a := range rows {
		for i := range steps {
			if steps[i].Name == a.Step {
				steps[i].Approval = approvalJSON(a)
			}
		}
	}
	return nil
}

// decideApproval takes an operator's decision on a step that waits for
// one. Who decided is the token's name.
func (s *Server) decideApproval(w http.ResponseWriter, r *http.Request) {
	id, step := r.PathValue("id"), r.PathValue("step")
	const shape = `body must be {"approve": true|false, "reason": "TEXT", "values": {"NAME": "VALUE"}}, reason and values optional`
	data, ok := readJSON(w, r, contract.MaxInputBytes, "the decision")
	if !ok {
		return
	}
	var req ApprovalRequest
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, shape+": "+clean(err.Error()))
		return
	}
	actor, _ := r.Context().Value(actorKey{}).(string)
	a, err := s.eng.Decide(r.Context(), &engine.DecideParams{RunID: id, Step: step, Approve: req.Approve, By: actor, Reason: req.Reason, Values: req.Values})
	var closed *store.ApprovalClosedError
	switch {
	case errors.As(err, &closed):
		writeError(w, http.StatusConflict, fmt.Sprintf("step %q of run %s takes no decision any more: %s", step, id, closed.Why))
		return
	case errors.Is(err, engine.ErrNotWaiting):
		writeError(w, http.StatusConflict, clean(err.Error()))
		return
	case err != nil:
		s.storeError(w, err, noRun(id))
		return
	}
	verb := "rejected"
	if req.Approve {
		verb = "approved"
	}
	// Names, not values: values may be anything the operator typed.
	detail := verb + " step " + step
	if len(req.Values) > 0 {
		detail += fmt.Sprintf(" with %d values", len(req.Values))
	}
	s.audit(r, "run.approval", id, detail)
	writeJSON(w, http.StatusOK, approvalJSON(a))
}

// Decide approves or rejects a step that waits for a decision.
func (c *Client) Decide(ctx context.Context, runID, step string, req *ApprovalRequest) (*Approval, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	var out Approval
	path := "/api/v1/runs/" + url.PathEscape(runID) + "/steps/" + url.PathEscape(step) + "/approval"
	if err := c.do(ctx, http.MethodPost, path, "application/json", body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
