package stepwrap

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/baton-dev/baton/internal/contract"
	"github.com/baton-dev/baton/internal/executor"
	"github.com/baton-dev/baton/internal/stepfile"
)

// Defaults of [PostOptions].
const (
	// DefaultRetryFor is how long a callback that fails for a reason that
	// may pass (no answer, 5xx, 429) is tried again: long enough to ride
	// out a restart of baton's server.
	DefaultRetryFor = 2 * time.Minute
	// DefaultRequestTimeout bounds one POST.
	DefaultRequestTimeout = 30 * time.Second
)

// Backoff between tries of the callback.
const (
	firstDelay = 500 * time.Millisecond
	maxDelay   = 10 * time.Second
)

// maxTokenBytes bounds the token file: a token is 64 hex digits.
const maxTokenBytes = 4 << 10

// maxAnswerBytes bounds what is read of an answer to quote its error.
const maxAnswerBytes = 4 << 10

// PostOptions configure the delivery of outputs.
type PostOptions struct {
	// Client sends the callback; nil means a client with no overall
	// timeout (each try is bounded by RequestTimeout).
	Client *http.Client
	// RetryFor bounds the tries of a callback that fails for a reason
	// that may pass; zero means [DefaultRetryFor].
	RetryFor time.Duration
	// RequestTimeout bounds one try; zero means [DefaultRequestTimeout].
	RequestTimeout time.Duration
}

// deliver reads the output file in dir and posts what it holds. An empty or
// missing file, or one of blank lines only, needs no callback.
func deliver(ctx context.Context, o Options, dir string) error {
	rctx, cancel := context.WithTimeout(ctx, readTimeout)
	data, err := stepfile.Read(rctx, dir, outputName, contract.MaxInputBytes+1)
	cancel()
	if errors.Is(err, stepfile.ErrRefused) {
		return fmt.Errorf("the output file %s %s; write the outputs into the file itself", executor.EnvOutput, refusal(err))
	}
	if err != nil {
		return fmt.Errorf("read the output file: %w", err)
	}
	if len(data) == 0 {
		return nil
	}
	vars, err := contract.ParseOutputFile(data)
	if err != nil {
		return err
	}
	if len(vars) == 0 {
		return nil
	}
	url, ok := lookupEnv(o.Env, "BATON_CALLBACK_URL")
	if !ok || url == "" {
		return errors.New("BATON_CALLBACK_URL is not set, so there is nowhere to send them; run the step through baton, or give baton a callback URL its steps can reach")
	}
	token, err := readToken(o.Env)
	if err != nil {
		return err
	}
	body, err := json.Marshal(map[string]map[string]string{"variables": vars})
	if err != nil {
		return fmt.Errorf("encode the outputs: %w", err)
	}
	return post(ctx, o.Post, url, token, body)
}

// refusal says what the refused file was, in stepfile's words, without
// stepfile's prefix: "is a symbolic link, not a plain file".
func refusal(err error) string {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "stepfile: "+outputName+" ")
	return msg
}

// readToken returns the attempt's token: from the file [executor.EnvTokenFile]
// names, else from [executor.EnvToken].
func readToken(env []string) (string, error) {
	if path, ok := lookupEnv(env, executor.EnvTokenFile); ok && path != "" {
		f, err := os.Open(path)
		if err != nil {
			return "", fmt.Errorf("read the callback token: %w", err)
		}
		defer f.Close()
		b, err := io.ReadAll(io.LimitReader(f, maxTokenBytes+1))
		if err != nil {
			return "", fmt.Errorf("read the callback token from %s: %w", path, err)
		}
		if len(b) > maxTokenBytes {
			return "", fmt.Errorf("the callback token file %s is over %d bytes; it is not baton's", path, maxTokenBytes)
		}
		if t := strings.TrimSpace(string(b)); t != "" {
			return t, nil
		}
		return "", fmt.Errorf("the callback token file %s is empty", path)
	}
	if t, ok := lookupEnv(env, executor.EnvToken); ok && t != "" {
		return t, nil
	}
	return "", fmt.Errorf("neither %s nor %s is set, so the callback cannot be authorized; run the step through baton", executor.EnvTokenFile, executor.EnvToken)
}

// post sends body to url, trying again with backoff while the failure may
// pass, for at most o.RetryFor.
func post(ctx context.Context, o PostOptions, url, token string, body []byte) error {
	if o.Client == nil {
		o.Client = &http.Client{}
	}
	if o.RetryFor <= 0 {
		o.RetryFor = DefaultRetryFor
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = DefaultRequestTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, o.RetryFor)
	defer cancel()
	delay := firstDelay
	for tries := 1; ; tries++ {
		err := postOnce(ctx, o, url, token, body)
		var perm *permanentError
		if err == nil {
			return nil
		}
		if errors.As(err, &perm) {
			return err
		}
		// Jitter keeps many steps of one restart from retrying in step.
		wait := delay/2 + rand.N(delay/2+1)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("the callback %s did not take them in %d tries over %s; last: %w", url, tries, o.RetryFor, err)
		}
		delay = min(delay*2, maxDelay)
	}
}

// permanentError is an answer trying again cannot change.
type permanentError struct{ msg string }

func (e *permanentError) Error() string { return e.msg }

func postOnce(ctx context.Context, o PostOptions, url, token string, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, o.RequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return &permanentError{fmt.Sprintf("the callback URL %q is not usable: %v", url, err)}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := o.Client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	answer := answerError(resp.Body)
	// What is left is drained, so the connection can be used again.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode >= 500, resp.StatusCode == http.StatusTooManyRequests, resp.StatusCode == http.StatusRequestTimeout:
		return fmt.Errorf("%s%s", resp.Status, answer)
	default:
		return &permanentError{fmt.Sprintf("the callback %s answered %s%s", url, resp.Status, answer)}
	}
}

// answerError is ": <message>" from baton's {"error": "..."} answer, or "".
// The message is baton's; anything else is not quoted.
func answerError(r io.Reader) string {
	b, err := io.ReadAll(io.LimitReader(r, maxAnswerBytes))
	if err != nil {
		return ""
	}
	var a struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(b, &a) != nil || a.Error == "" {
		return ""
	}
	return ": " + strings.ToValidUTF8(a.Error, "?")
}
