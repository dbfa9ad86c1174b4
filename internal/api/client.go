package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Client talks to a baton server.
type Client struct {
	// BaseURL is the server's address, e.g. http://127.0.0.1:8080.
	BaseURL string
	HTTP    *http.Client
	// Token is the API token sent with every request.
	Token string
}

// NewClient returns a client for the server at base. A base without a scheme
// gets http://.
func NewClient(base string) *Client {
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	return &Client{BaseURL: strings.TrimRight(base, "/"), HTTP: http.DefaultClient}
}

// do sends a request and decodes a JSON answer into out, unless out is nil.
func (c *Client) do(ctx context.Context, method, path, ctype string, body []byte, out any) error {
	resp, err := c.send(ctx, method, path, ctype, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("read answer of %s %s: %w", method, path, err)
	}
	return nil
}

// send sends a request and returns the response if its status is 2xx; the
// caller closes its body.
func (c *Client) send(ctx context.Context, method, path, ctype string, body []byte) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, rd)
	if err != nil {
		return nil, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot reach baton server at %s (set --server or BATON_SERVER): %w", c.BaseURL, err)
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	var e Error
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if json.Unmarshal(data, &e) != nil || e.Error == "" {
		e.Error = strings.TrimSpace(string(data))
	}
	return nil, &StatusError{Code: resp.StatusCode, Message: e.Error}
}

// StatusError is an error answer from the server.
type StatusError struct {
	Code    int
	Message string
}

func (e *StatusError) Error() string { return fmt.Sprintf("%s (HTTP %d)", e.Message, e.Code) }

// Apply stores a pipeline definition.
func (c *Client) Apply(ctx context.Context, filename string, data []byte) (*Pipeline, error) {
	var p Pipeline
	err := c.do(ctx, http.MethodPost, "/api/v1/pipelines?filename="+url.QueryEscape(filename), "application/yaml", data, &p)
	return &p, err
}

// Pipelines lists pipelines.
func (c *Client) Pipelines(ctx context.Context) ([]Pipeline, error) {
	var ps []Pipeline
	err := c.do(ctx, http.MethodGet, "/api/v1/pipelines", "", nil, &ps)
	return ps, err
}

// Pipeline returns one revision of a pipeline with its source in Spec;
// revision 0 is the latest.
func (c *Client) Pipeline(ctx context.Context, name string, revision int) (*Pipeline, error) {
	path := "/api/v1/pipelines/" + url.PathEscape(name)
	if revision > 0 {
		path += fmt.Sprintf("?revision=%d", revision)
	}
	var p Pipeline
	err := c.do(ctx, http.MethodGet, path, "", nil, &p)
	return &p, err
}

// DeletePipeline removes a pipeline; the server refuses (409) while it has
// unfinished runs. Its ended runs stay.
func (c *Client) DeletePipeline(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, "/api/v1/pipelines/"+url.PathEscape(name), "", nil, nil)
}

// PauseSchedules pauses every schedule of a pipeline until
// [Client.ResumeSchedules]; the answer has SchedulesPausedAt set.
func (c *Client) PauseSchedules(ctx context.Context, name string) (*Pipeline, error) {
	var p Pipeline
	err := c.do(ctx, http.MethodPost, "/api/v1/pipelines/"+url.PathEscape(name)+"/schedules/pause", "application/json", nil, &p)
	return &p, err
}

// ResumeSchedules lets a pipeline's paused schedules fire again, from their
// next tick.
func (c *Client) ResumeSchedules(ctx context.Context, name string) (*Pipeline, error) {
	var p Pipeline
	err := c.do(ctx, http.MethodPost, "/api/v1/pipelines/"+url.PathEscape(name)+"/schedules/resume", "application/json", nil, &p)
	return &p, err
}

// Trigger starts a run of a pipeline.
func (c *Client) Trigger(ctx context.Context, pipeline string, params map[string]string) (*Run, error) {
	body, err := json.Marshal(params)
	if err != nil {
		return nil, err
	}
	var r Run
	err = c.do(ctx, http.MethodPost, "/api/v1/pipelines/"+url.PathEscape(pipeline)+"/runs", "application/json", body, &r)
	return &r, err
}

// Runs lists runs; query holds the list filters (pipeline, status, limit).
func (c *Client) Runs(ctx context.Context, query url.Values) ([]Run, error) {
	var rs []Run
	err := c.do(ctx, http.MethodGet, "/api/v1/runs?"+query.Encode(), "", nil, &rs)
	return rs, err
}

// Run returns one run in full.
func (c *Client) Run(ctx context.Context, id string) (*Run, error) {
	var r Run
	err := c.do(ctx, http.MethodGet, "/api/v1/runs/"+url.PathEscape(id), "", nil, &r)
	return &r, err
}

// Cancel cancels a run.
func (c *Client) Cancel(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodPost, "/api/v1/runs/"+url.PathEscape(id)+"/cancel", "application/json", nil, nil)
}

// Retry starts a new run that re-runs an ended one from a step (empty: the
// steps that did not succeed), with params replaced.
func (c *Client) Retry(ctx context.Context, id, from string, params map[string]string) (*Run, error) {
	body, err := json.Marshal(retryRequest{From: from, Params: params})
	if err != nil {
		return nil, err
	}
	var r Run
	err = c.do(ctx, http.MethodPost, "/api/v1/runs/"+url.PathEscape(id)+"/retry", "application/json", body, &r)
	return &r, err
}

// Logs copies a step's logs, as text, to w; with follow it returns when the
// step has ended.
func (c *Client) Logs(ctx context.Context, run, step string, follow bool, w io.Writer) error {
	path := "/api/v1/runs/" + url.PathEscape(run) + "/steps/" + url.PathEscape(step) + "/logs"
	if follow {
		path += "?follow=1"
	}
	resp, err := c.send(ctx, http.MethodGet, path, "", nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(w, resp.Body)
	return err
}

// SetSecret stores a secret.
func (c *Client) SetSecret(ctx context.Context, name string, value []byte) error {
	return c.do(ctx, http.MethodPut, "/api/v1/secrets/"+url.PathEscape(name), "application/octet-stream", value, nil)
}

// Secrets lists secrets, without values.
func (c *Client) Secrets(ctx context.Context) ([]Secret, error) {
	var out []Secret
	err := c.do(ctx, http.MethodGet, "/api/v1/secrets", "", nil, &out)
	return out, err
}

// DeleteSecret removes a secret.
func (c *Client) DeleteSecret(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, "/api/v1/secrets/"+url.PathEscape(name), "", nil, nil)
}

// RotateSecrets re-seals every secret with the server's primary key.
func (c *Client) RotateSecrets(ctx context.Context) (int, error) {
	var out struct {
		Resealed int `json:"resealed"`
	}
	err := c.do(ctx, http.MethodPost, "/api/v1/secrets/rotate", "application/json", nil, &out)
	return out.Resealed, err
}

// CreateToken makes an API token; the answer holds its value, shown once.
func (c *Client) CreateToken(ctx context.Context, name, role string) (*Token, error) {
	body, _ := json.Marshal(map[string]string{"name": name, "role": role})
	var t Token
	err := c.do(ctx, http.MethodPost, "/api/v1/tokens", "application/json", body, &t)
	return &t, err
}

// Tokens lists API tokens, without values.
func (c *Client) Tokens(ctx context.Context) ([]Token, error) {
	var out []Token
	err := c.do(ctx, http.MethodGet, "/api/v1/tokens", "", nil, &out)
	return out, err
}

// RevokeToken revokes an API token.
func (c *Client) RevokeToken(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, "/api/v1/tokens/"+url.PathEscape(name), "", nil, nil)
}

// Audit returns the newest audit entries.
func (c *Client) Audit(ctx context.Context, limit int) ([]AuditEntry, error) {
	var out []AuditEntry
	err := c.do(ctx, http.MethodGet, fmt.Sprintf("/api/v1/audit?limit=%d", limit), "", nil, &out)
	return out, err
}
