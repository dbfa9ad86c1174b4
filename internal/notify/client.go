package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/baton-dev/baton/internal/pipeline"
)

// maxResponseBytes is how much of a receiver's answer is read, and then
// dropped: it is never shown.
const maxResponseBytes = 4 << 10

// maxRedirects bounds the redirects a delivery follows, all to the
// notification's own host.
const maxRedirects = 3

// ClientOptions bound a [Client]; zero values take the defaults.
type ClientOptions struct {
	// Timeout bounds one try, from dialing to the end of the answer;
	// default 30s.
	Timeout time.Duration
}

// Client posts notifications: bounded in time, never following a redirect
// to another host or to plain http, reading at most 4 KiB of an answer.
type Client struct {
	http *http.Client
}

// NewClient returns a client with o's bounds.
func NewClient(o ClientOptions) *Client {
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	tr := &http.Transport{
		Proxy:                  http.ProxyFromEnvironment,
		DialContext:            (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
		TLSHandshakeTimeout:    10 * time.Second,
		ResponseHeaderTimeout:  o.Timeout,
		MaxIdleConns:           8,
		IdleConnTimeout:        90 * time.Second,
		MaxResponseHeaderBytes: 16 << 10,
	}
	return &Client{http: &http.Client{
		Transport: tr,
		Timeout:   o.Timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			first := via[0].URL
			if len(via) > maxRedirects || req.URL.Host != first.Host || req.URL.Scheme != first.Scheme {
				return http.ErrUseLastResponse
			}
			return nil
		},
	}}
}

// Post sends body to rawURL with the delivery id and signature headers and
// returns the answer's status code. Anything but a 2xx is an error, which
// names neither the URL (it may hold a token) nor what the receiver said.
func (c *Client) Post(ctx context.Context, rawURL, delivery string, body []byte, signature string) (int, error) {
	if err := pipeline.CheckNotifyURL(rawURL); err != nil {
		return 0, fmt.Errorf("the url %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, bytes.NewReader(body))
	if err != nil {
		return 0, errors.New("the url is not valid")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "baton-notify/1")
	req.Header.Set(HeaderDelivery, delivery)
	req.Header.Set(HeaderSignature, signature)
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, fmt.Errorf("post: %w", bare(err))
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseBytes))
	_ = resp.Body.Close()
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return resp.StatusCode, nil
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return resp.StatusCode, fmt.Errorf("the receiver answered %d, a redirect baton does not follow (only to the same host and scheme, at most %d); point the url at where it redirects", resp.StatusCode, maxRedirects)
	}
	return resp.StatusCode, fmt.Errorf("the receiver answered %d", resp.StatusCode)
}

// bare is err without the URL an [*url.Error] repeats.
func bare(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return errors.New("timed out")
		}
		return ue.Err
	}
	return err
}
