package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/baton-dev/baton/internal/store"
)

// noPipeline is the answer for a pipeline that does not exist.
func noPipeline(name string) string {
	return fmt.Sprintf("no pipeline %q; see 'baton pipelines'", name)
}

func (s *Server) applyPipeline(w http.ResponseWriter, r *http.Request) {
	data, ok := readBody(w, r, maxSpecBytes, "the pipeline definition")
	if !ok {
		return
	}
	filename := r.URL.Query().Get("filename")
	if filename == "" {
		filename = "pipeline.yaml"
	}
	before, _ := s.st.PipelineList(r.Context())
	row, _, err := s.eng.Apply(r.Context(), filename, data)
	if err != nil {
		s.storeError(w, err, "")
		return
	}
	created := true
	for _, p := range before {
		if p.Name == row.Name && p.Revision == row.Revision {
			created = false
		}
	}
	if created && s.AfterApply != nil {
		s.AfterApply(r.Context())
	}
	code := http.StatusOK
	if created {
		code = http.StatusCreated
		s.audit(r, "pipeline.apply", row.Name, fmt.Sprintf("revision %d", row.Revision))
	}
	out := s.pipelineJSON(r.Context(), row, nil)
	out.Created = &created
	writeJSON(w, code, out)
}

// pausedSince returns when each paused pipeline's schedules were paused.
func (s *Server) pausedSince(ctx context.Context) (map[string]time.Time, error) {
	rows, err := s.st.SchedulePauseList(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]time.Time, len(rows))
	for _, p := range rows {
		out[p.Pipeline] = p.PausedAt
	}
	return out, nil
}

// pipelineJSON is a revision as the API shows it, with its schedules and
// whether they are paused; paused nil means look it up.
func (s *Server) pipelineJSON(ctx context.Context, row *store.PipelineRow, paused map[string]time.Time) Pipeline {
	out := Pipeline{Name: row.Name, Revision: row.Revision, CreatedAt: row.CreatedAt, Schedules: []string{}}
	if spec, _, err := s.eng.Spec(ctx, row.Name, row.Revision); err == nil {
		for _, sch := range spec.Schedules {
			out.Schedules = append(out.Schedules, sch.Cron)
		}
	} else {
		s.log.Warn("read stored pipeline", "pipeline", row.Name, "revision", row.Revision, "err", err)
	}
	if paused == nil {
		var err error
		if paused, err = s.pausedSince(ctx); err != nil {
			s.log.Warn("read paused schedules", "err", err)
		}
	}
	if at, ok := paused[row.Name]; ok {
		out.SchedulesPausedAt = &at
	}
	return out
}

func (s *Server) listPipelines(w http.ResponseWriter, r *http.Request) {
	rows, err := s.st.PipelineList(r.Context())
	if err != nil {
		s.storeError(w, err, "")
		return
	}
	paused, err := s.pausedSince(r.Context())
	if err != nil {
		s.storeError(w, err, "")
		return
	}
	out := make([]Pipeline, len(rows))
	for i, p := range rows {
		out[i] = s.pipelineJSON(r.Context(), p, paused)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getPipeline(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	rev := 0
	if v := r.URL.Query().Get("revision"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("revision %q is not a positive whole number", v))
			return
		}
		rev = n
	}
	// A deleted pipeline keeps its revisions for the runs that pinned
	// them, but is not served: it is gone for its users.
	latest, err := s.st.PipelineGet(r.Context(), name, 0)
	if err != nil {
		s.storeError(w, err, noPipeline(name))
		return
	}
	p := latest
	if rev != 0 && rev != latest.Revision {
		if rev > latest.Revision {
			err = store.ErrNotFound
		} else {
			p, err = s.st.PipelineGet(r.Context(), name, rev)
		}
		if err != nil {
			s.storeError(w, err, fmt.Sprintf("pipeline %q has no revision %d; its latest is %d", name, rev, latest.Revision))
			return
		}
	}
	out := s.pipelineJSON(r.Context(), p, nil)
	out.Spec = string(p.Spec)
	writeJSON(w, http.StatusOK, out)
}

// deletePipeline removes a pipeline that has no unfinished runs; its ended
// runs stay, with the revisions they ran.
func (s *Server) deletePipeline(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	err := s.st.PipelineDelete(r.Context(), &store.PipelineDeleteParams{Name: name, Now: time.Now()})
	var unfinished *store.UnfinishedRunsError
	switch {
	case errors.As(err, &unfinished):
		writeError(w, http.StatusConflict, fmt.Sprintf("pipeline %q has unfinished runs %s; cancel them ('baton runs cancel RUN') or wait for them to end, then delete it",
			name, strings.Join(unfinished.Runs, ", ")))
		return
	case err != nil:
		s.storeError(w, err, noPipeline(name))
		return
	}
	if s.AfterApply != nil {
		s.AfterApply(r.Context())
	}
	s.audit(r, "pipeline.delete", name, "")
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) pauseSchedules(w http.ResponseWriter, r *http.Request) {
	s.setPaused(w, r, true)
}

func (s *Server) resumeSchedules(w http.ResponseWriter, r *http.Request) {
	s.setPaused(w, r, false)
}

// setPaused pauses or resumes every schedule of a pipeline. The scheduler
// reads the pause at each tick, so nothing needs reloading.
func (s *Server) setPaused(w http.ResponseWriter, r *http.Request, paused bool) {
	name := r.PathValue("name")
	err := s.st.SchedulePauseSet(r.Context(), &store.SchedulePauseSetParams{Pipeline: name, Paused: paused, Now: time.Now()})
	if err != nil {
		s.storeError(w, err, noPipeline(name))
		return
	}
	row, err := s.st.PipelineGet(r.Context(), name, 0)
	if err != nil {
		s.storeError(w, err, noPipeline(name))
		return
	}
	action := "schedule.resume"
	if paused {
		action = "schedule.pause"
	}
	s.audit(r, action, name, "")
	writeJSON(w, http.StatusOK, s.pipelineJSON(r.Context(), row, nil))
}
