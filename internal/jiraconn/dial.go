package jiraconn

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// publicOnlyClient is the HTTP client of Jira connections when private
// addresses are refused (serve --jira-allow-private=false): every
// connection is checked after DNS resolution, at dial time, so a name that
// resolves (or is re-resolved) to an internal address is refused too.
// Proxies from the environment are not used in this mode, since the proxy
// would make the connection the check cannot see.
func publicOnlyClient() *http.Client {
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, Control: refusePrivate}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	tr.DialContext = d.DialContext
	return &http.Client{Transport: tr}
}

// refusePrivate refuses loopback, private (RFC 1918, fc00::/7), link-local
// (including the 169.254.169.254 metadata service), carrier-grade NAT,
// unspecified and multicast addresses.
func refusePrivate(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("refused address %q: %w", address, err)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("refused address %q: not an IP address", address)
	}
	ip = ip.Unmap()
	cgnat := netip.MustParsePrefix("100.64.0.0/10")
	if ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsUnspecified() ||
		ip.IsMulticast() || ip.IsInterfaceLocalMulticast() || cgnat.Contains(ip) {
		return fmt.Errorf("refused to connect to %s: a private, loopback or link-local address (vulnsync serve --jira-allow-private=false)", ip)
	}
	return nil
}
