package netguard_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"sync/atomic"
	"testing"

	"github.com/igmcp/igmcp/netguard"
)

func TestPublic(t *testing.T) {
	t.Parallel()
	refused := []string{
		"0.0.0.0", "0.1.2.3", "10.0.0.1", "10.255.255.255", "100.64.0.1", "100.127.255.254",
		"127.0.0.1", "127.1.2.3", "169.254.169.254", "172.16.0.1", "172.31.255.255",
		"192.0.0.1", "192.0.0.9", "192.0.0.170", "192.0.2.10", "192.88.99.1", "192.168.1.1",
		"198.18.0.1", "198.19.255.255", "198.51.100.7", "203.0.113.9",
		"224.0.0.1", "239.255.255.250", "240.0.0.1", "255.255.255.255",
		// IPv6
		"::", "::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "::127.0.0.1",
		"64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", "64:ff9b:1::1", "100::1", "2001::1", "2001:2::1",
		"2001:db8::1", "2002:7f00:1::1", "2002:a00:1::1", "3fff::1", "5f00::1", "fc00::1", "fd12:3456::1",
		"fe80::1", "fe80::1%eth0", "fec0::1", "ff02::1", "ff0e::1",
	}
	for _, s := range refused {
		if netguard.Public(netip.MustParseAddr(s)) {
			t.Errorf("Public(%s) = true", s)
		}
	}
	allowed := []string{"1.1.1.1", "8.8.8.8", "31.13.64.35", "157.240.1.174", "100.63.255.255", "100.128.0.1",
		"172.15.255.255", "172.32.0.1", "192.0.1.1", "198.17.255.255", "198.20.0.1", "223.255.255.255",
		"::ffff:8.8.8.8", "2a03:2880:f10c:83:face:b00c:0:25de", "2606:4700::1111", "2001:4860:4860::8888"}
	for _, s := range allowed {
		if !netguard.Public(netip.MustParseAddr(s)) {
			t.Errorf("Public(%s) = false", s)
		}
	}
	if netguard.Public(netip.Addr{}) {
		t.Error("the zero Addr is public")
	}
	lo := netguard.Options{AllowLoopback: true}
	if !lo.Allowed(netip.MustParseAddr("127.0.0.1")) || !lo.Allowed(netip.MustParseAddr("::1")) || lo.Allowed(netip.MustParseAddr("10.0.0.1")) {
		t.Error("AllowLoopback allows more or less than loopback")
	}
	if (netguard.Options{}).Allowed(netip.MustParseAddr("127.0.0.1")) {
		t.Error("loopback is allowed by default")
	}
}

// counter is a TCP listener on loopback that counts the connections it
// accepts: a dial that got through is a connection to this machine.
type counter struct {
	ln   net.Listener
	hits atomic.Int32
}

func listen(t *testing.T, h http.Handler) *counter {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &counter{ln: ln}
	srv := &http.Server{Handler: h, ConnState: func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			c.hits.Add(1)
		}
	}}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return c
}

func (c *counter) port() string { _, p, _ := net.SplitHostPort(c.ln.Addr().String()); return p }

// stub is a resolver returning addresses of the test's choosing.
func stub(names map[string][]string) func(context.Context, string, string) ([]netip.Addr, error) {
	return func(_ context.Context, _, host string) ([]netip.Addr, error) {
		var out []netip.Addr
		for _, s := range names[host] {
			out = append(out, netip.MustParseAddr(s))
		}
		if len(out) == 0 {
			return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
		}
		return out, nil
	}
}

// Every form that reaches this machine is refused at dial time: the name's
// DNS answers are checked, not the name.
func TestDialContext_RefusesWhatResolvesToThisMachine(t *testing.T) {
	t.Parallel()
	srv := listen(t, http.NotFoundHandler())
	o := netguard.Options{Lookup: stub(map[string][]string{
		"loopback.example": {"127.0.0.1"},
		"other127.example": {"127.9.9.9"},
		"zero.example":     {"0.0.0.0"},
		"mapped.example":   {"::ffff:127.0.0.1"},
		"mixed.example":    {"10.0.0.1", "127.0.0.1"},
	})}
	for _, host := range []string{"loopback.example", "other127.example", "zero.example", "mapped.example", "mixed.example", "127.0.0.1", "0.0.0.0", "[::ffff:127.0.0.1]"} {
		c, err := o.DialContext(t.Context(), "tcp", host+":"+srv.port())
		if err == nil {
			_ = c.Close()
		}
		if !errors.Is(err, netguard.ErrBlocked) {
			t.Errorf("dial %s: %v, want ErrBlocked", host, err)
		}
	}
	if n := srv.hits.Load(); n != 0 {
		t.Fatalf("%d connections reached this machine", n)
	}
	// The same dial with loopback allowed explicitly does connect: the
	// counter counts.
	o.AllowLoopback = true
	c, err := o.DialContext(t.Context(), "tcp", "loopback.example:"+srv.port())
	if err != nil {
		t.Fatal(err)
	}
	_ = c.Close()
	if _, err := o.DialContext(t.Context(), "tcp", "zero.example:"+srv.port()); !errors.Is(err, netguard.ErrBlocked) {
		t.Fatalf("AllowLoopback let 0.0.0.0 through: %v", err)
	}
}

// A redirect is a new dial, checked like the first one.
func TestRedirectHopIsChecked(t *testing.T) {
	t.Parallel()
	inner := listen(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "internal") }))
	outer := listen(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://internal.example:"+inner.port()+"/", http.StatusFound)
	}))
	// The first hop is allowed (loopback, explicitly); the redirect names a
	// host that resolves to 0.0.0.0, which also reaches this machine.
	o := netguard.Options{AllowLoopback: true, Lookup: stub(map[string][]string{
		"public.example":   {"127.0.0.1"},
		"internal.example": {"0.0.0.0"},
	})}
	client := &http.Client{Transport: o.Transport()}
	resp, err := client.Get("http://public.example:" + outer.port() + "/")
	if err == nil {
		_ = resp.Body.Close()
	}
	if !errors.Is(err, netguard.ErrBlocked) {
		t.Fatalf("redirect to an internal address: %v, want ErrBlocked", err)
	}
	if outer.hits.Load() == 0 || inner.hits.Load() != 0 {
		t.Fatalf("hits: first hop %d, redirect target %d", outer.hits.Load(), inner.hits.Load())
	}
}

func TestControl(t *testing.T) {
	t.Parallel()
	var o netguard.Options
	for addr, ok := range map[string]bool{"8.8.8.8:443": true, "[2606:4700::1111]:443": true, "127.0.0.1:80": false,
		"[::1]:80": false, "169.254.169.254:80": false, "[fe80::1%eth0]:80": false, "nonsense": false} {
		if err := o.Control("tcp", addr, nil); (err == nil) != ok {
			t.Errorf("Control(%s) = %v", addr, err)
		}
	}
}
