// Package netguard keeps the server's own fetches (preflight, media staging)
// on the public Internet. A URL an agent passes may come from a prompt
// injection; fetched from inside a data center it would reach the cloud
// metadata service, the loopback interface or the private network. Only
// global unicast destinations are dialled, and the check is made on the IP
// address actually dialled, so a DNS answer and every redirect hop are
// covered (a host name checked before resolution would not be).
package netguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// ErrBlocked is the error of a dial to a destination that is not public.
var ErrBlocked = errors.New("destination is not a public Internet address")

// blocked lists what is not global unicast: the entries of the IANA IPv4
// and IPv6 Special-Purpose Address Registries
// (https://www.iana.org/assignments/iana-ipv4-special-registry,
// https://www.iana.org/assignments/iana-ipv6-special-registry) that are not
// globally reachable, plus multicast and, whole, the blocks whose sub-entries
// only serve protocols (192.0.0.0/24, 2001::/23) or embed an IPv4 address
// that could be private (64:ff9b::/96, 2002::/16). IPv6 outside 2000::/3
// (the only global unicast space allocated) is refused before this table;
// IPv4-mapped and IPv4-compatible forms are judged as the IPv4 address.
var blocked = func() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{
		// IPv4
		"0.0.0.0/8",          // "this network" (RFC 791)
		"10.0.0.0/8",         // private use (RFC 1918)
		"100.64.0.0/10",      // shared address space, carrier-grade NAT (RFC 6598)
		"127.0.0.0/8",        // loopback (RFC 1122)
		"169.254.0.0/16",     // link local, cloud metadata (RFC 3927)
		"172.16.0.0/12",      // private use (RFC 1918)
		"192.0.0.0/24",       // IETF protocol assignments (RFC 6890)
		"192.0.2.0/24",       // documentation TEST-NET-1 (RFC 5737)
		"192.88.99.0/24",     // 6to4 relay anycast, deprecated (RFC 7526)
		"192.168.0.0/16",     // private use (RFC 1918)
		"198.18.0.0/15",      // benchmarking (RFC 2544)
		"198.51.100.0/24",    // documentation TEST-NET-2 (RFC 5737)
		"203.0.113.0/24",     // documentation TEST-NET-3 (RFC 5737)
		"224.0.0.0/4",        // multicast (RFC 5771)
		"240.0.0.0/4",        // reserved (RFC 1112)
		"255.255.255.255/32", // limited broadcast (RFC 919)
		// IPv6 inside 2000::/3
		"2001::/23",     // IETF protocol assignments, Teredo, benchmarking, ORCHID (RFC 2928)
		"2001:db8::/32", // documentation (RFC 3849)
		"2002::/16",     // 6to4, embeds an IPv4 address (RFC 3056)
		"3fff::/20",     // documentation (RFC 9637)
	} {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}()

// globalUnicast6 is the IPv6 space IANA allocates as global unicast.
var globalUnicast6 = netip.MustParsePrefix("2000::/3")

// Public reports whether ip is a global unicast address igmcp may connect
// to. Everything else is refused: loopback, private and shared ranges,
// link local, multicast, documentation and benchmarking ranges, reserved
// space, NAT64 and 6to4 forms, unique local and site local IPv6.
func Public(ip netip.Addr) bool {
	if !ip.IsValid() || ip.Zone() != "" {
		return false
	}
	ip = ip.Unmap()
	if ip.Is6() {
		if !globalUnicast6.Contains(ip) {
			return false // ::/8 (incl. IPv4-compatible), 64:ff9b::/96, ULA, link local, multicast, …
		}
	}
	for _, p := range blocked {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

// Options configure a Dialer.
type Options struct {
	// AllowLoopback lets connections to 127.0.0.0/8 and ::1 through. For
	// tests that serve media from a local server; never on in igmcp.
	AllowLoopback bool
	// Lookup resolves host names (default net.DefaultResolver.LookupNetIP);
	// tests stub it to return addresses of their choosing.
	Lookup func(ctx context.Context, network, host string) ([]netip.Addr, error)
	// Timeout bounds one connection attempt (default 5 s).
	Timeout time.Duration
}

// Allowed reports whether the options let a connection to ip through.
func (o Options) Allowed(ip netip.Addr) bool {
	if o.AllowLoopback && ip.Unmap().IsLoopback() {
		return true
	}
	return Public(ip)
}

// Control is a net.Dialer Control function that refuses a socket whose
// destination the options do not allow. It sees the address actually
// dialled, after resolution.
func (o Options) Control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil || !o.Allowed(ap.Addr()) {
		return ErrBlocked
	}
	return nil
}

// DialContext resolves the address, keeps only the IPs the options allow,
// and dials them in turn through a net.Dialer whose Control checks each
// socket again. It fails with ErrBlocked when no allowed address is left.
func (o Options) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	var ips []netip.Addr
	if ip, perr := netip.ParseAddr(host); perr == nil {
		ips = []netip.Addr{ip}
	} else {
		lookup := o.Lookup
		if lookup == nil {
			lookup = net.DefaultResolver.LookupNetIP
		}
		ipNet := "ip"
		switch network {
		case "tcp4", "udp4":
			ipNet = "ip4"
		case "tcp6", "udp6":
			ipNet = "ip6"
		}
		if ips, err = lookup(ctx, ipNet, host); err != nil {
			return nil, err
		}
	}
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	d := &net.Dialer{Timeout: timeout, Control: o.Control}
	var firstErr error
	for _, ip := range ips {
		if !o.Allowed(ip) {
			continue
		}
		c, err := d.DialContext(ctx, network, net.JoinHostPort(ip.Unmap().String(), port))
		if err == nil {
			return c, nil
		}
		if firstErr == nil {
			firstErr = err
		}
		if ctx.Err() != nil {
			break
		}
	}
	if firstErr == nil {
		return nil, fmt.Errorf("dial %s: %w", host, ErrBlocked)
	}
	return nil, firstErr
}

// Transport is an HTTP transport that dials only what the options allow.
// It uses no proxy: a proxy would dial on the server's behalf, out of reach
// of the check.
func (o Options) Transport() *http.Transport {
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           o.DialContext,
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: 10 * time.Second,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       30 * time.Second,
		ForceAttemptHTTP2:     true,
	}
}
