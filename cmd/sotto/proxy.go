package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/sottolabs/sotto/client"
	"github.com/sottolabs/sotto/client/proxy"
	"github.com/sottolabs/sotto/crypto/keyconfig"
	"github.com/sottolabs/sotto/internal/secretfile"
)

// defaultProxyListen is where tools look for a local OpenAI-compatible
// server of Sotto's (the port beside Ollama's 11434).
const defaultProxyListen = "127.0.0.1:11435"

// proxyEnvPrefix names the environment variable of each flag:
// --device-key is SOTTO_PROXY_DEVICE_KEY. A flag on the command line wins.
const proxyEnvPrefix = "SOTTO_PROXY_"

var proxyOpts struct {
	server, pin, pinFile, deviceKey, listen string
	caFile, suite, state, model             string
	apiKeyFile, logLevel                    string
	convTTL                                 time.Duration
	convMemory                              int
}

var proxyCmd = &cobra.Command{
	Use:   "proxy --server URL --pin KEY --device-key FILE [--listen 127.0.0.1:11435]",
	Short: "Serve an OpenAI-compatible API on this machine that seals everything to a Sotto server",
	Long: "proxy serves POST /v1/chat/completions, GET /v1/models and GET /health on loopback.\n" +
		"Each request is sealed to the Sotto server with this device's key, as sotto chat\n" +
		"does, and the reply streams back in the OpenAI format: point a tool's base URL at\n" +
		"http://127.0.0.1:11435/v1 (any API key). A conversation the tool resends whole\n" +
		"each turn gets its own cache secret, kept in memory only, so the server reuses\n" +
		"its prompt. To listen elsewhere than loopback, an API key is required\n" +
		"(SOTTO_PROXY_API_KEY or --api-key-file). Every flag can also be set in the\n" +
		"environment: --device-key is SOTTO_PROXY_DEVICE_KEY. Request and reply text is\n" +
		"never logged. See docs/proxy.md.",
	Args:    cobra.NoArgs,
	PreRunE: func(cmd *cobra.Command, _ []string) error { return flagsFromEnv(cmd.Flags(), proxyEnvPrefix) },
	RunE:    runProxy,
}

func runProxy(cmd *cobra.Command, _ []string) error {
	log, err := proxyLogger(proxyOpts.logLevel)
	if err != nil {
		return err
	}
	apiKey, err := proxyAPIKey()
	if err != nil {
		return err
	}
	ln, err := proxyListen(proxyOpts.listen, apiKey != "")
	if err != nil {
		return err
	}
	defer ln.Close()
	c, closeKey, err := newProxyClient()
	if err != nil {
		return err
	}
	defer closeKey()
	if err := verifyServer(cmd, c); err != nil {
		return err
	}
	h := proxy.New(proxy.Config{Client: c, Model: proxyOpts.model, APIKey: apiKey, Log: log,
		Conversations: proxy.NewConversations(proxyOpts.convTTL, proxyOpts.convMemory)})
	// No write timeout: replies stream for as long as the model writes.
	var inflight sync.WaitGroup
	counted := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inflight.Add(1)
		defer inflight.Done()
		h.ServeHTTP(w, r)
	})
	srv := &http.Server{Handler: counted, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	fmt.Fprintf(cmd.ErrOrStderr(), "sotto proxy: listening on http://%s/v1 (model %s), sealing to %s\n",
		ln.Addr(), h.Model(), proxyOpts.server)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	shutDown := make(chan struct{})
	go func() {
		defer close(shutDown)
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shut)
		_ = srv.Close() // streams still open after 5 s: their tools are cancelled
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("proxy: %w", err)
	}
	// Serve returns at once; the handlers may still sign with the device
	// key, which closeKey destroys, until they have all returned.
	<-shutDown
	inflight.Wait()
	return nil
}

// newProxyClient builds the Sotto client from the flags.
func newProxyClient() (*client.Client, func(), error) {
	if proxyOpts.server == "" {
		return nil, nil, errors.New("proxy: no server (--server URL or SOTTO_PROXY_SERVER)")
	}
	pin := proxyOpts.pin
	if pin == "" && proxyOpts.pinFile != "" {
		data, err := os.ReadFile(proxyOpts.pinFile)
		if err != nil {
			return nil, nil, fmt.Errorf("proxy: --pin-file: %w", err)
		}
		pin = strings.TrimSpace(string(data))
	}
	if pin == "" {
		return nil, nil, errors.New("proxy: no pinned signing key (--pin or --pin-file; the server's operator prints it with sotto keys show --pin)")
	}
	signing, err := parsePin(pin)
	if err != nil {
		return nil, nil, errors.New("proxy: the pin is not an Ed25519 public key (ed25519:<base64url>)")
	}
	httpClient, err := chatHTTPClient(proxyOpts.caFile)
	if err != nil {
		return nil, nil, err
	}
	return openClient(client.Config{BaseURL: proxyOpts.server, SigningKey: signing, HTTPClient: httpClient,
		StatePath: proxyStatePath(signing)}, proxyOpts.suite, proxyOpts.deviceKey)
}

// verifyServer checks the server's key configuration against the pin at
// start: a configuration that fails is an error (a wrong pin or URL), a
// server that cannot be reached yet only a warning (requests retry it).
func verifyServer(cmd *cobra.Command, c *client.Client) error {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	err := c.Verify(ctx)
	switch {
	case err == nil:
		fmt.Fprintln(cmd.ErrOrStderr(), "sotto proxy: the server's key configuration verifies against the pin")
	case errors.Is(err, client.ErrKeyConfig), errors.Is(err, client.ErrState):
		return fmt.Errorf("proxy: %w (check --server and --pin)", err)
	default:
		fmt.Fprintf(cmd.ErrOrStderr(), "sotto proxy: warning: the server cannot be checked yet: %v\n", err)
	}
	return nil
}

// proxyStatePath is --state, else the per-signing-key file sotto chat
// keeps in the user's config directory ("" when there is none).
func proxyStatePath(pin ed25519.PublicKey) string {
	if proxyOpts.state != "" {
		return proxyOpts.state
	}
	cfg, err := os.UserConfigDir()
	if err != nil || os.MkdirAll(filepath.Join(cfg, "sotto"), 0o700) != nil {
		return ""
	}
	return filepath.Join(cfg, "sotto", "keyconfig-"+keyconfig.SigningKeyID(pin)+".json")
}

// proxyAPIKey returns the API key: SOTTO_PROXY_API_KEY, else the file of
// --api-key-file (read with the secret-file rules), else "".
func proxyAPIKey() (string, error) {
	if k := strings.TrimSpace(os.Getenv(proxyEnvPrefix + "API_KEY")); k != "" {
		return k, nil
	}
	if proxyOpts.apiKeyFile == "" {
		return "", nil
	}
	budget, err := keysBudget()
	if err != nil {
		return "", err
	}
	buf, n, err := secretfile.Read(proxyOpts.apiKeyFile, 4096, budget)
	if err != nil {
		return "", fmt.Errorf("proxy: --api-key-file: %w", err)
	}
	defer buf.Destroy()
	k := strings.TrimSpace(string(buf.Bytes()[:n]))
	if k == "" {
		return "", errors.New("proxy: --api-key-file is empty")
	}
	return k, nil
}

// proxyListen listens on addr; an address that is not loopback needs an
// API key, or anyone who can reach it would use the device's key.
func proxyListen(addr string, haveKey bool) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("proxy: --listen: %w", err)
	}
	if ta, ok := ln.Addr().(*net.TCPAddr); ok && !ta.IP.IsLoopback() && !haveKey {
		ln.Close()
		return nil, fmt.Errorf("proxy: --listen %s is not a loopback address: set an API key (SOTTO_PROXY_API_KEY or --api-key-file)", addr)
	}
	return ln, nil
}

// proxyLogger logs text lines to standard error at level.
func proxyLogger(level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("proxy: --log-level: want debug, info, warn or error")
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l})), nil
}

// flagsFromEnv sets every flag not given on the command line from the
// environment variable prefix + its name in upper case, "-" as "_"; an
// empty variable counts as unset.
func flagsFromEnv(fs *pflag.FlagSet, prefix string) error {
	var err error
	fs.VisitAll(func(f *pflag.Flag) {
		name := prefix + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v := os.Getenv(name); v != "" && !f.Changed && err == nil {
			if serr := f.Value.Set(v); serr != nil {
				err = fmt.Errorf("proxy: %s: %w", name, serr)
			}
		}
	})
	return err
}

func init() {
	f := proxyCmd.Flags()
	f.StringVar(&proxyOpts.server, "server", "", "Sotto server base URL")
	f.StringVar(&proxyOpts.pin, "pin", "", "pinned signing public key, ed25519:<base64url> (sotto keys show --pin)")
	f.StringVar(&proxyOpts.pinFile, "pin-file", "", "file holding the pinned signing public key")
	f.StringVar(&proxyOpts.deviceKey, "device-key", "", "device key file (default $XDG_CONFIG_HOME/sotto/device.key)")
	f.StringVar(&proxyOpts.listen, "listen", defaultProxyListen, "address to serve the OpenAI-compatible API on (not loopback: an API key is required)")
	f.StringVar(&proxyOpts.caFile, "ca-file", "", "PEM certificates to trust for an https server (default: the system roots)")
	f.StringVar(&proxyOpts.suite, "suite", "x25519", "HPKE suite: x25519 or xwing")
	f.StringVar(&proxyOpts.state, "state", "", "file keeping the verified key configuration across runs (default: per signing key in $XDG_CONFIG_HOME/sotto)")
	f.StringVar(&proxyOpts.model, "model", proxy.DefaultModel, "model id GET /v1/models lists and replies carry")
	f.StringVar(&proxyOpts.apiKeyFile, "api-key-file", "", "file (mode 0600) holding the API key tools must send (SOTTO_PROXY_API_KEY also sets it)")
	f.StringVar(&proxyOpts.logLevel, "log-level", "info", "debug, info, warn or error (no level logs request or reply text)")
	f.DurationVar(&proxyOpts.convTTL, "conversation-ttl", proxy.DefaultConversationTTL, "forget a conversation's cache secret after this long unused")
	f.IntVar(&proxyOpts.convMemory, "conversation-memory", proxy.DefaultConversationMemory, "bytes of memory for recognising conversations")
	proxyCmd.MarkFlagsMutuallyExclusive("pin", "pin-file")
	rootCmd.AddCommand(proxyCmd)
}
