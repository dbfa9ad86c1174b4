package docker

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/docker/docker/api/types/network"
)

// bridgeNameOption names the host interface of a bridge network.
const bridgeNameOption = "com.docker.network.bridge.name"

// BridgeGateway returns the host's IPv4 address on the engine's default
// bridge network, the one containers are attached to: an address on which a
// listener of this machine is reachable from every step. It is meaningful
// only for an engine on this machine.
func (e *Executor) BridgeGateway(ctx context.Context) (net.IP, error) {
	nw, err := e.cli.NetworkInspect(ctx, "bridge", network.InspectOptions{})
	if err != nil {
		return nil, fmt.Errorf("docker: inspect network bridge: %w", err)
	}
	var subnets []*net.IPNet
	for _, c := range nw.IPAM.Config {
		if ip := net.ParseIP(c.Gateway).To4(); ip != nil {
			return ip, nil
		}
		if _, sn, err := net.ParseCIDR(c.Subnet); err == nil && sn.IP.To4() != nil {
			subnets = append(subnets, sn)
		}
	}
	// Engines before 23.0 leave the default bridge's gateway out of its
	// IPAM config; the bridge interface holds it.
	name := nw.Options[bridgeNameOption]
	if name == "" {
		return nil, errors.New("docker: network bridge names neither a gateway nor an interface")
	}
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return nil, fmt.Errorf("docker: bridge interface %q: %w", name, err)
	}
	addrs, err := ifi.Addrs()
	if err != nil {
		return nil, fmt.Errorf("docker: bridge interface %q: %w", name, err)
	}
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok || ipn.IP.To4() == nil {
			continue
		}
		for _, sn := range subnets {
			if sn.Contains(ipn.IP) {
				return ipn.IP.To4(), nil
			}
		}
	}
	return nil, fmt.Errorf("docker: bridge interface %q has no address in the network's subnet", name)
}
