package main

import (
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"

	"github.com/spf13/cobra"
)

// wgPlan is what `sotto ops wireguard` writes: one router and Workers
// workers on Subnet. The router is the subnet's first address, worker i
// (from 1) is the subnet's address 10+i, the numbering the units under
// build/systemd assume (sotto-worker.service listens on 10.77.0.11 unless
// worker.env says otherwise).
type wgPlan struct {
	Workers         int
	RouterEndpoint  string   // host:port workers dial; "" when the router dials them
	WorkerEndpoints []string // host:port the router dials, one a worker; none when workers dial
	Subnet          netip.Prefix
	ListenPort      int // WireGuard UDP port on every host
	WorkerPort      int // the workers' mutual-TLS port on wg0
}

// Defaults of `sotto ops wireguard`, matching build/systemd and build/nftables.
const (
	defaultWGSubnet     = "10.77.0.0/24"
	defaultWGListenPort = 51820
	defaultWorkerPort   = 8443
	workerMetricsPort   = 9100
	maxWGWorkers        = 200
)

var errWGPlan = errors.New("ops: wireguard")

// check validates the plan before anything is written.
func (p wgPlan) check() error {
	switch {
	case p.Workers < 1 || p.Workers > maxWGWorkers:
		return fmt.Errorf("%w: --workers must be between 1 and %d", errWGPlan, maxWGWorkers)
	case p.RouterEndpoint == "" && len(p.WorkerEndpoints) == 0:
		return fmt.Errorf("%w: give --router-endpoint, --worker-endpoint (one per worker), or both", errWGPlan)
	case len(p.WorkerEndpoints) != 0 && len(p.WorkerEndpoints) != p.Workers:
		return fmt.Errorf("%w: %d --worker-endpoint for %d workers", errWGPlan, len(p.WorkerEndpoints), p.Workers)
	case !p.Subnet.IsValid() || !p.Subnet.Addr().Is4() || p.Subnet.Bits() > 24 || p.Subnet.Masked() != p.Subnet:
		return fmt.Errorf("%w: --subnet must be an IPv4 network of /24 or larger, such as %s", errWGPlan, defaultWGSubnet)
	case !validPort(p.ListenPort) || !validPort(p.WorkerPort):
		return fmt.Errorf("%w: ports must be between 1 and 65535", errWGPlan)
	}
	for _, e := range append([]string{p.RouterEndpoint}, p.WorkerEndpoints...) {
		if e == "" {
			continue
		}
		host, port, err := net.SplitHostPort(e)
		if n, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || !validPort(n) {
			return fmt.Errorf("%w: endpoint %q is not host:port", errWGPlan, e)
		}
	}
	return nil
}

func validPort(n int) bool { return n >= 1 && n <= 65535 }

// routerAddr and workerAddr number the hosts on the subnet.
func (p wgPlan) routerAddr() netip.Addr      { return p.nth(1) }
func (p wgPlan) workerAddr(i int) netip.Addr { return p.nth(10 + i) }

func (p wgPlan) nth(n int) netip.Addr {
	a := p.Subnet.Addr().As4()
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3]) + uint32(n)
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// wgKeyPair is a WireGuard key pair in wg's base64 form.
type wgKeyPair struct{ private, public []byte }

// newWGKeyPair generates a Curve25519 key pair as `wg genkey | wg pubkey`
// does: the private scalar is stored clamped, which leaves the public key
// unchanged (X25519 clamps before use).
func newWGKeyPair(r io.Reader) (wgKeyPair, error) {
	k, err := ecdh.X25519().GenerateKey(r)
	if err != nil {
		return wgKeyPair{}, fmt.Errorf("ops: wireguard key: %w", err)
	}
	priv := k.Bytes()
	priv[0] &= 248
	priv[31] = priv[31]&127 | 64
	return wgKeyPair{private: wgBase64(priv), public: wgBase64(k.PublicKey().Bytes())}, nil
}

// newWGPresharedKey returns 32 random bytes in base64, as `wg genpsk`.
func newWGPresharedKey(r io.Reader) ([]byte, error) {
	b := make([]byte, 32)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, fmt.Errorf("ops: wireguard preshared key: %w", err)
	}
	return wgBase64(b), nil
}

func wgBase64(b []byte) []byte { return base64.StdEncoding.AppendEncode(nil, b) }

var wgOpts struct {
	workers         int
	routerEndpoint  string
	workerEndpoints []string
	subnet          string
	listenPort      int
	workerPort      int
	out             string
}

var opsWireGuardCmd = &cobra.Command{
	Use:   "wireguard --workers N (--router-endpoint HOST:PORT | --worker-endpoint HOST:PORT ...) --out DIR",
	Short: "Generate WireGuard keys, wg-quick configurations and role environment files for one router and N workers",
	Long: `Writes, into DIR (created, 0700; it must not exist or be empty):
  router/wg0.conf, router/router.env (INFERENCE_ENDPOINTS)
  worker-N/wg0.conf, worker-N/worker.env (SOTTO_LISTEN on the worker's wg0 address)
every file 0600. Each router-worker pair also shares a preshared key.
Workers reach only the router over the tunnel, never each other.`,
	Args: cobra.NoArgs,
	RunE: func(cmd *cobra.Command, _ []string) error {
		subnet, err := netip.ParsePrefix(wgOpts.subnet)
		if err != nil {
			return fmt.Errorf("%w: --subnet %q is not a network", errWGPlan, wgOpts.subnet)
		}
		p := wgPlan{Workers: wgOpts.workers, RouterEndpoint: wgOpts.routerEndpoint, WorkerEndpoints: wgOpts.workerEndpoints,
			Subnet: subnet, ListenPort: wgOpts.listenPort, WorkerPort: wgOpts.workerPort}
		files, err := writeWireGuard(wgOpts.out, p, rand.Reader)
		if err != nil {
			return err
		}
		for _, f := range files {
			fmt.Fprintln(cmd.OutOrStdout(), f)
		}
		return nil
	},
}

func init() {
	f := opsWireGuardCmd.Flags()
	f.IntVar(&wgOpts.workers, "workers", 0, "number of workers")
	f.StringVar(&wgOpts.routerEndpoint, "router-endpoint", "", "public host:port of the router's WireGuard, for workers that dial the router (the router's firewall must then open it)")
	f.StringArrayVar(&wgOpts.workerEndpoints, "worker-endpoint", nil, "public host:port of a worker's WireGuard, once per worker in order, for a router that dials its workers")
	f.StringVar(&wgOpts.subnet, "subnet", defaultWGSubnet, "the tunnel's IPv4 network (the units' IPAddressAllow= names the default)")
	f.IntVar(&wgOpts.listenPort, "listen-port", defaultWGListenPort, "WireGuard UDP port on every host")
	f.IntVar(&wgOpts.workerPort, "worker-port", defaultWorkerPort, "the workers' mutual-TLS port on wg0")
	f.StringVar(&wgOpts.out, "out", "", "output directory")
	_ = opsWireGuardCmd.MarkFlagRequired("out")
	_ = opsWireGuardCmd.MarkFlagRequired("workers")
	opsCmd.AddCommand(opsWireGuardCmd)
}
