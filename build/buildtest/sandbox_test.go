package buildtest

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sottolabs/sotto/client"
	"github.com/sottolabs/sotto/crypto/device"
	"github.com/sottolabs/sotto/internal/locked"
	"github.com/sottolabs/sotto/internal/testenv"
)

// TestMain lets the test binary act as the sandbox launcher: with
// sandboxVar set it enters the sandbox and execs the unit's command.
func TestMain(m *testing.M) {
	if v := os.Getenv(sandboxVar); v != "" {
		err := enterSandbox(v)
		fmt.Fprintln(os.Stderr, "buildtest sandbox:", err)
		os.Exit(111)
	}
	os.Exit(m.Run())
}

// nobody is the unprivileged user the sandboxed server runs as (the unit's
// sotto user does not exist on a build machine).
const nobody = 65534

// TestUnitSandboxServes starts sotto.service's exact ExecStart under the
// unit's user-level restrictions (see sandbox), with the unit's
// Environment= and only the paths moved into a temporary directory, and
// proves the server still locks memory, loads a real model and answers an
// end-to-end encrypted chat. Not rebuilt here (they need systemd as PID 1
// or change nothing the server does): PrivateTmp=, PrivateDevices=,
// IPAddressDeny=, the Protect{Kernel*,Clock,Hostname,ControlGroups}= set.
func TestUnitSandboxServes(t *testing.T) {
	analyze := requireTool(t, "systemd-analyze", "systemd")
	testenv.RequireRoot(t, "the sandbox test mounts /proc and changes user")
	u, err := parseUnit(buildFile(t, "systemd/sotto.service"))
	if err != nil {
		t.Fatal(err)
	}
	srv := prepareServer(t, u)
	if u.last("Service.ProtectSystem") != "strict" {
		t.Fatalf("ProtectSystem=%s, want strict", u.last("Service.ProtectSystem"))
	}
	sb := unitSandbox(t, analyze, u, srv.binary, srv.dir)
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(srv.env, sandboxVar+"="+sb.encode())
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
	logs := &testenv.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer stopServer(t, cmd, exited)
	hc := unixClient(srv.socket)
	waitReady(t, hc, logs, exited)

	checkConfined(t, cmd.Process.Pid)
	reply := chatOnce(t, hc, "http://sotto", srv)
	if len(reply) == 0 {
		t.Fatalf("empty reply; logs:\n%s", logs.Bytes())
	}
	body := scrape(t, srv.metricsAddr)
	if got, want := gaugeValue(body, "sotto_locked_bytes_limit"), float64(sb.MemlockBytes-64<<10); got != want {
		t.Errorf("sotto_locked_bytes_limit = %v, want %v (LimitMEMLOCK less 64 KiB)", got, want)
	}
	if got := gaugeValue(body, "sotto_locked_bytes_in_use"); !(got > 0) {
		t.Errorf("sotto_locked_bytes_in_use = %v, want > 0 (keys and engine scratch are locked)", got)
	}
}

// unitSandbox derives the sandbox from the unit's settings.
func unitSandbox(t *testing.T, analyze string, u unit, binary, writable string) sandbox {
	t.Helper()
	memlock, err := parseBytes(u.last("Service.LimitMEMLOCK"))
	if err != nil {
		t.Fatalf("LimitMEMLOCK: %v", err)
	}
	exec := strings.Fields(u.last("Service.ExecStart"))
	if exec[0] != "/usr/local/bin/sotto" {
		t.Fatalf("ExecStart runs %s, want /usr/local/bin/sotto", exec[0])
	}
	exec[0] = binary
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_MEMLOCK, &rl); err != nil {
		t.Fatal(err)
	}
	if memlock > rl.Max && !hasCapability(unix.CAP_SYS_RESOURCE) {
		// Raising a hard limit needs CAP_SYS_RESOURCE, which containers
		// often lack: test with the largest limit this machine allows.
		t.Logf("LimitMEMLOCK=%d exceeds this machine's hard limit %d and the test cannot raise it (no CAP_SYS_RESOURCE): using %d", memlock, rl.Max, rl.Max)
		memlock = rl.Max
	}
	families := map[string]int{"AF_UNIX": unix.AF_UNIX, "AF_INET": unix.AF_INET, "AF_INET6": unix.AF_INET6}
	var fams []int
	for _, f := range strings.Fields(u.last("Service.RestrictAddressFamilies")) {
		fams = append(fams, families[f])
	}
	return sandbox{
		UID: nobody, GID: nobody, MemlockBytes: memlock,
		Syscalls: unitSyscalls(t, analyze, u), Families: fams,
		DenyWX: u.last("Service.MemoryDenyWriteExecute") == "yes", Exec: exec, Writable: writable,
	}
}

// parseBytes reads a systemd size with an optional K, M or G suffix
// (powers of 1024).
func parseBytes(s string) (uint64, error) {
	mult := uint64(1)
	if n := len(s); n > 0 {
		switch s[n-1] {
		case 'K':
			mult, s = 1<<10, s[:n-1]
		case 'M':
			mult, s = 1<<20, s[:n-1]
		case 'G':
			mult, s = 1<<30, s[:n-1]
		}
	}
	var v uint64
	_, err := fmt.Sscanf(s, "%d", &v)
	return v * mult, err
}

// checkConfined reads the server's /proc status: it must run as nobody,
// with no capabilities, no_new_privs and a seccomp filter.
func checkConfined(t *testing.T, pid int) {
	t.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		fmt.Sprintf("Uid:\t%d\t%d\t%d\t%d", nobody, nobody, nobody, nobody),
		"CapEff:\t0000000000000000", "CapBnd:\t0000000000000000",
		"NoNewPrivs:\t1", "Seccomp:\t2",
	} {
		if !strings.Contains(string(status), want+"\n") {
			t.Errorf("server status lacks %q", want)
		}
	}
}

func unixClient(socket string) *http.Client {
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", socket)
	}}
	return &http.Client{Transport: tr}
}

func waitReady(t *testing.T, hc *http.Client, logs *testenv.SyncBuffer, exited chan error) {
	t.Helper()
	waitReadyAt(t, hc, "http://sotto", logs, exited)
}

// waitReadyAt polls baseURL's readiness until 200, the server exits or
// two minutes pass.
func waitReadyAt(t *testing.T, hc *http.Client, baseURL string, logs *testenv.SyncBuffer, exited chan error) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		select {
		case err := <-exited:
			exited <- err // for stopServer
			t.Fatalf("server exited before it was ready (%v); logs:\n%s", err, logs.Bytes())
		default:
		}
		resp, err := hc.Get(baseURL + "/health/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
	}
	t.Fatalf("server not ready; logs:\n%s", logs.Bytes())
}

// chatOnce sends one end-to-end encrypted request to baseURL with hc and
// returns the reply's text.
func chatOnce(t *testing.T, hc *http.Client, baseURL string, srv *preparedServer) []byte {
	t.Helper()
	priv, err := device.ReadKeyFile(srv.deviceKey, locked.NewBudget(locked.Unlimited))
	if err != nil {
		t.Fatal(err)
	}
	defer priv.Destroy()
	c, err := client.New(client.Config{
		BaseURL: baseURL, SigningKey: srv.pin, DeviceKey: ed25519.PrivateKey(priv.Bytes()), HTTPClient: hc,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var reply []byte
	res, err := c.Chat(ctx, client.Request{
		Messages:  []client.Message{{Role: client.RoleUser, Content: "Once upon a time"}},
		MaxTokens: 16,
	}, func(text []byte) error { reply = append(reply, text...); return nil })
	if err != nil {
		t.Fatalf("chat: %v", err)
	}
	if res.FinishReason != "stop" && res.FinishReason != "length" {
		t.Fatalf("finish reason %q (code %q)", res.FinishReason, res.ErrorCode)
	}
	return reply
}

func scrape(t *testing.T, addr string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func stopServer(t *testing.T, cmd *exec.Cmd, exited chan error) {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
		t.Error("server did not stop within 30 s of SIGTERM")
	}
}

// hasCapability reports whether this process holds capability c in its
// effective set.
func hasCapability(c int) bool {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return false
	}
	return data[c/32].Effective&(1<<(c%32)) != 0
}

// gaugeValue returns the value of an unlabelled metric in Prometheus text
// format, or NaN when absent.
func gaugeValue(body, name string) float64 {
	for line := range strings.Lines(body) {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err == nil {
				return f
			}
		}
	}
	return math.NaN()
}
