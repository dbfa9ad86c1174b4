package cli

import (
	"context"
	"fmt"
	"net"
	"strconv"

	"github.com/baton-dev/baton/internal/config"
)

// gatewayFinder is what an executor offers when its steps reach the host
// through a gateway address of their own network, as docker's bridge does.
type gatewayFinder interface {
	BridgeGateway(ctx context.Context) (net.IP, error)
}

// stepCallbackURLs returns, per executor, the API's address as its steps
// see it: callback_url if given (remote executors need it: see
// registry.Check); for a process, the address the API listens on
// (loopback when it listens on all); for a container, host.docker.internal
// when the API listens on all addresses, else a second listener that
// serves callbacks alone on the docker bridge's gateway, the host's
// address on the network containers are on. When no such listener can be
// opened, steps could not report, so baton refuses to start.
func (l *local) stepCallbackURLs(ctx context.Context, cfg *config.Config) (map[string]string, error) {
	urls := make(map[string]string)
	byGateway := make(map[string]string) // one bridge listener per gateway
	for _, name := range l.execs.Names() {
		u, err := l.stepCallbackURL(ctx, cfg, name, byGateway)
		if err != nil {
			return nil, err
		}
		urls[name] = u
	}
	return urls, nil
}

func (l *local) stepCallbackURL(ctx context.Context, cfg *config.Config, name string, byGateway map[string]string) (string, error) {
	if cfg.CallbackURL != "" {
		return cfg.CallbackURL, nil
	}
	scheme := "http://"
	if cfg.TLSCert != "" {
		scheme = "https://"
	}
	addr := l.ln.Addr().(*net.TCPAddr)
	port := strconv.Itoa(addr.Port)
	gf, container := l.execs.Executors[name].(gatewayFinder)
	switch {
	case !container && addr.IP.IsUnspecified():
		return scheme + "127.0.0.1:" + port, nil
	case !container:
		return scheme + net.JoinHostPort(addr.IP.String(), port), nil
	case addr.IP.IsUnspecified():
		return scheme + "host.docker.internal:" + port, nil
	}
	fix := fmt.Sprintf("listen where containers reach the host (--listen 0.0.0.0:%s), or give the address they reach it at with --callback-url", port)
	gctx, cancel := context.WithTimeout(ctx, pingTimeout)
	gw, err := gf.BridgeGateway(gctx)
	cancel()
	if err != nil {
		return "", fmt.Errorf("docker steps cannot reach the API on %s, and the docker bridge's address is unknown (%v); %s", addr, err, fix)
	}
	if addr.IP.Equal(gw) {
		return scheme + net.JoinHostPort(gw.String(), port), nil
	}
	if u, ok := byGateway[gw.String()]; ok {
		return u, nil
	}
	// The same port as the API's when it is free, for firewall rules' sake.
	ln, err := net.Listen("tcp", net.JoinHostPort(gw.String(), port))
	if err != nil {
		ln, err = net.Listen("tcp", net.JoinHostPort(gw.String(), "0"))
	}
	if err != nil {
		return "", fmt.Errorf("docker steps cannot reach the API on %s, and listening for their callbacks on the docker bridge failed: %w; %s", addr, err, fix)
	}
	l.cbLns = append(l.cbLns, ln)
	cbAddr := ln.Addr().(*net.TCPAddr)
	l.log.Info("step callbacks listening on the docker bridge", "addr", cbAddr.String(), "api_addr", addr.String())
	u := scheme + net.JoinHostPort(gw.String(), strconv.Itoa(cbAddr.Port))
	byGateway[gw.String()] = u
	return u, nil
}
