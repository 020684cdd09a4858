package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// wgHost is one host's keys and address.
type wgHost struct {
	keys wgKeyPair
	psk  []byte // a worker's preshared key with the router; nil for the router
}

// writeWireGuard generates every key and writes the plan's files into
// dir, returning their paths. dir must not exist or be empty: keys are
// never overwritten.
func writeWireGuard(dir string, p wgPlan, r io.Reader) ([]string, error) {
	if err := p.check(); err != nil {
		return nil, err
	}
	if dir == "" {
		return nil, fmt.Errorf("%w: --out is required", errWGPlan)
	}
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return nil, fmt.Errorf("%w: %s is not empty; refusing to overwrite keys", errWGPlan, dir)
	}
	router, workers, err := generateHosts(p.Workers, r)
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{
		"router/wg0.conf":   routerConf(p, router, workers),
		"router/router.env": routerEnv(p),
	}
	for i, w := range workers {
		n := strconv.Itoa(i + 1)
		files["worker-"+n+"/wg0.conf"] = workerConf(p, i+1, router, w)
		files["worker-"+n+"/worker.env"] = workerEnv(p, i+1)
	}
	return writeFiles(dir, files)
}

func generateHosts(n int, r io.Reader) (wgHost, []wgHost, error) {
	rk, err := newWGKeyPair(r)
	if err != nil {
		return wgHost{}, nil, err
	}
	workers := make([]wgHost, n)
	for i := range workers {
		if workers[i].keys, err = newWGKeyPair(r); err != nil {
			return wgHost{}, nil, err
		}
		if workers[i].psk, err = newWGPresharedKey(r); err != nil {
			return wgHost{}, nil, err
		}
	}
	return wgHost{keys: rk}, workers, nil
}

// routerConf: the router reaches each worker at its /32 only.
func routerConf(p wgPlan, router wgHost, workers []wgHost) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# wg-quick configuration of the router: /etc/wireguard/wg0.conf (0600).\n")
	iface(&b, router.keys.private, p.routerAddr().String(), p.Subnet.Bits(), p.ListenPort)
	for i, w := range workers {
		endpoint := ""
		if len(p.WorkerEndpoints) > 0 {
			endpoint = p.WorkerEndpoints[i]
		}
		peer(&b, fmt.Sprintf("worker %d", i+1), w.keys.public, w.psk, p.workerAddr(i+1).String()+"/32", endpoint)
	}
	return b.Bytes()
}

// workerConf: a worker reaches the router and nothing else on the subnet,
// so a compromised worker cannot reach its siblings.
func workerConf(p wgPlan, n int, router, w wgHost) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# wg-quick configuration of worker %d: /etc/wireguard/wg0.conf (0600).\n", n)
	iface(&b, w.keys.private, p.workerAddr(n).String(), p.Subnet.Bits(), p.ListenPort)
	peer(&b, "router", router.keys.public, w.psk, p.routerAddr().String()+"/32", p.RouterEndpoint)
	return b.Bytes()
}

func iface(b *bytes.Buffer, private []byte, addr string, bits, port int) {
	b.WriteString("[Interface]\nPrivateKey = ")
	b.Write(private)
	fmt.Fprintf(b, "\nAddress = %s/%d\nListenPort = %d\n", addr, bits, port)
}

// peer writes one [Peer]; both sides keep the tunnel alive so the other
// side's stateful firewall keeps the flow established.
func peer(b *bytes.Buffer, name string, public, psk []byte, allowed, endpoint string) {
	fmt.Fprintf(b, "\n# %s\n[Peer]\nPublicKey = %s\nPresharedKey = ", name, public)
	b.Write(psk)
	fmt.Fprintf(b, "\nAllowedIPs = %s\n", allowed)
	if endpoint != "" {
		fmt.Fprintf(b, "Endpoint = %s\n", endpoint)
	}
	b.WriteString("PersistentKeepalive = 25\n")
}

func routerEnv(p wgPlan) []byte {
	urls := make([]string, p.Workers)
	for i := range urls {
		urls[i] = "https://" + netJoin(p.workerAddr(i+1).String(), p.WorkerPort)
	}
	return fmt.Appendf(nil, "# sotto-router.service overrides: the workers over WireGuard.\nINFERENCE_ENDPOINTS=%s\n",
		strings.Join(urls, ","))
}

// workerEnv: the worker listens on its wg0 address only, and serves its
// metrics there too, for the router's Prometheus (build/nftables lets
// only the router reach either port).
func workerEnv(p wgPlan, n int) []byte {
	addr := p.workerAddr(n).String()
	return fmt.Appendf(nil, "# sotto-worker.service overrides for worker %d: its wg0 address only.\nSOTTO_LISTEN=%s\nSOTTO_METRICS_LISTEN=%s\n",
		n, netJoin(addr, p.WorkerPort), netJoin(addr, workerMetricsPort))
}

func netJoin(host string, port int) string { return host + ":" + strconv.Itoa(port) }

// writeFiles writes files (relative path -> content) below dir, every
// directory 0700 and every file 0600 whatever the umask.
func writeFiles(dir string, files map[string][]byte) ([]string, error) {
	var written []string
	for rel, data := range files {
		path := filepath.Join(dir, filepath.FromSlash(rel))
		for _, d := range []string{dir, filepath.Dir(path)} {
			if err := os.MkdirAll(d, 0o700); err != nil {
				return written, fmt.Errorf("ops: %w", err)
			}
			if err := os.Chmod(d, 0o700); err != nil {
				return written, fmt.Errorf("ops: %w", err)
			}
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return written, fmt.Errorf("ops: %w", err)
		}
		_, werr := f.Write(data)
		if err := f.Close(); werr != nil || err != nil {
			return written, fmt.Errorf("ops: writing %s: %w", rel, errors.Join(werr, err))
		}
		written = append(written, path)
	}
	slices.Sort(written)
	return written, nil
}
