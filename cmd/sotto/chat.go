package main

import (
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sottolabs/sotto/client"
	"github.com/sottolabs/sotto/crypto"
	"github.com/sottolabs/sotto/crypto/device"
	"github.com/sottolabs/sotto/crypto/keyconfig"
	"github.com/sottolabs/sotto/crypto/keys"
)

// The --dev settings: what scripts/run.sh (make run) serves.
const (
	devServer    = "http://127.0.0.1:8080"
	devDir       = "dev"
	devKeyDir    = "dev/keys"
	devDeviceKey = "dev/device.key"
)

// maxInputLine bounds one line of interactive input: the protocol's
// largest inner request.
const maxInputLine = crypto.MaxRequestPadded

var chatOpts struct {
	server, pin, pinFile, deviceKey, suite, state string
	caFile                                        string
	prompt, system                                string
	maxTokens                                     int
	temperature                                   float64
	seed                                          uint64
	dev, verbose, quiet                           bool
	noCache                                       bool
	enrolSoftware                                 bool
}

var chatCmd = &cobra.Command{
	Use: "chat [--dev | --server URL --pin KEY] [-p PROMPT]",
	Example: `  sotto chat --dev                                  # against make run (or sotto serve) here
  sotto chat --dev -p "Tell me a story"
  sotto chat --server https://sotto.example --pin ed25519:... --device-key phone.key`,
	Short: "Chat with a Sotto server, end-to-end encrypted",
	Long: "chat seals each request to the server's published key, verified against the pinned\n" +
		"signing key (--pin, --pin-file, or the key directory with --dev), signs it with the\n" +
		"device key, and prints the reply as it streams. With -p it answers one prompt;\n" +
		"otherwise it reads one message per line from standard input and keeps the\n" +
		"conversation (sent whole each turn) until /exit or end of input; /reset forgets\n" +
		"it. The server may keep the conversation's prompt between turns, named by a\n" +
		"random secret sealed in each request, so a turn reads only what is new\n" +
		"(--no-cache: not); /reset also forgets the secret.\n" +
		"Ctrl-C stops the reply being written; a second Ctrl-C quits. After each\n" +
		"reply, standard error gets tokens, time to first token and tokens/s (--quiet:\n" +
		"not). See docs/client.md.",
	Args: cobra.NoArgs,
	RunE: runChat,
}

func runChat(cmd *cobra.Command, _ []string) error {
	c, dev, closeKey, err := newChatClient(cmd)
	if err != nil {
		return err
	}
	defer closeKey()
	if err := chatEnrol(cmd, c, dev); err != nil {
		return err
	}
	sess := newChatSession(cmd, c, dev)
	defer sess.stop()
	if chatOpts.system != "" {
		sess.base = []client.Message{{Role: client.RoleSystem, Content: chatOpts.system}}
	}
	if cmd.Flags().Changed("prompt") {
		return sess.once(chatOpts.prompt)
	}
	return sess.loop(cmd.InOrStdin())
}

// newChatClient resolves the flags into a client and the device's public
// key (for the enrolment hint). closeKey destroys the device key held in
// locked memory.
func newChatClient(cmd *cobra.Command) (*client.Client, device.Key, func(), error) {
	if chatOpts.dev {
		setDefault(&chatOpts.server, devServer)
		setDefault(&chatOpts.deviceKey, devDeviceKey)
	}
	if chatOpts.server == "" {
		return nil, device.Key{}, nil, hint{"no server was given",
			"pass --server URL (and --pin), or --dev for the development server of make run"}.wrap(errors.New("chat: no server"))
	}
	if err := checkServerURL(chatOpts.server); err != nil {
		return nil, device.Key{}, nil, err
	}
	pin, err := chatPin()
	if err != nil {
		return nil, device.Key{}, nil, err
	}
	chatKeyID = keyconfig.SigningKeyID(pin)
	httpClient, err := chatHTTPClient(chatOpts.caFile)
	if err != nil {
		return nil, device.Key{}, nil, err
	}
	return openClientWithKey(client.Config{
		BaseURL: chatOpts.server, SigningKey: pin, HTTPClient: httpClient,
		StatePath: chatStatePath(cmd, pin),
	}, chatOpts.suite, chatOpts.deviceKey)
}

// openClient completes cfg with the suite named suiteName and the device
// key read from the file deviceKeyFlag names (or the default), and builds
// the client. The returned func destroys the locked device key.
func openClient(cfg client.Config, suiteName, deviceKeyFlag string) (*client.Client, func(), error) {
	c, _, closeKey, err := openClientWithKey(cfg, suiteName, deviceKeyFlag)
	return c, closeKey, err
}

// openClientWithKey is openClient that also returns the device's public
// key.
func openClientWithKey(cfg client.Config, suiteName, deviceKeyFlag string) (*client.Client, device.Key, func(), error) {
	suite, err := chatSuite(suiteName)
	if err != nil {
		return nil, device.Key{}, nil, err
	}
	keyPath, err := deviceKeyPath(deviceKeyFlag)
	if err != nil {
		return nil, device.Key{}, nil, err
	}
	budget, err := keysBudget()
	if err != nil {
		return nil, device.Key{}, nil, err
	}
	priv, err := device.ReadKeyFile(keyPath, budget)
	if err != nil {
		return nil, device.Key{}, nil, deviceKeyError(keyPath, err)
	}
	cfg.Suite, cfg.DeviceKey = suite, ed25519.PrivateKey(priv.Bytes())
	pub, err := device.PublicKey(cfg.DeviceKey)
	if err != nil {
		priv.Destroy()
		return nil, device.Key{}, nil, err
	}
	c, err := client.New(cfg)
	if err != nil {
		priv.Destroy()
		return nil, device.Key{}, nil, err
	}
	return c, pub, priv.Destroy, nil
}

// chatHTTPClient returns nil (the SDK's default client, system roots) or,
// with --ca-file, a client trusting only the certificates in that PEM file
// (a private CA or a self-signed development certificate). HTTP/2 is
// negotiated over TLS either way.
func chatHTTPClient(caFile string) (*http.Client, error) {
	if caFile == "" {
		return nil, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("chat: --ca-file: %w", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		return nil, errors.New("chat: --ca-file holds no PEM certificate")
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	tr.ForceAttemptHTTP2 = true
	return &http.Client{Transport: tr}, nil
}

func setDefault(v *string, def string) {
	if *v == "" {
		*v = def
	}
}

// chatSuite maps --suite to a suite.
func chatSuite(name string) (crypto.Suite, error) {
	switch strings.ToLower(name) {
	case "", "x25519":
		return crypto.SuiteX25519, nil
	case "xwing", "x-wing":
		return crypto.SuiteXWing, nil
	}
	return crypto.Suite{}, errors.New("chat: unknown --suite (known: x25519, xwing)")
}

// chatPin returns the pinned signing key: --pin, --pin-file, or with --dev
// the key directory's signing key.
func chatPin() (ed25519.PublicKey, error) {
	switch {
	case chatOpts.pin != "":
		return parsePin(chatOpts.pin)
	case chatOpts.pinFile != "":
		data, err := os.ReadFile(chatOpts.pinFile)
		if err != nil {
			return nil, fmt.Errorf("chat: --pin-file: %w", err)
		}
		return parsePin(strings.TrimSpace(string(data)))
	case chatOpts.dev:
		budget, err := keysBudget()
		if err != nil {
			return nil, err
		}
		s, err := keys.Open(devKeyDir, budget)
		if err != nil {
			return nil, hint{"--dev reads the pin from the key directory " + devKeyDir + ", which cannot be opened",
				"start the development server first (make run, or sotto serve in this directory: it creates " + devKeyDir + ")"}.
				wrap(fmt.Errorf("chat: --dev: %w", err))
		}
		defer s.Close()
		return append(ed25519.PublicKey(nil), s.SigningPublicKey()...), nil
	}
	return nil, errors.New("chat: no pinned signing key (--pin, --pin-file, or --dev; the server's operator prints it with sotto keys show --pin)")
}

// parsePin reads "ed25519:<b64u>" or a bare b64u Ed25519 public key.
func parsePin(s string) (ed25519.PublicKey, error) {
	b, err := base64.RawURLEncoding.Strict().DecodeString(strings.TrimPrefix(s, "ed25519:"))
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, errors.New("chat: the pin is not an Ed25519 public key (ed25519:<base64url>)")
	}
	return b, nil
}

// chatStatePath returns where the held key configuration is kept: --state,
// else a file per signing key under dev/ (--dev) or the user's config
// directory. It returns "" (nothing kept) when no such directory can be
// made.
func chatStatePath(cmd *cobra.Command, pin ed25519.PublicKey) string {
	if chatOpts.state != "" {
		return chatOpts.state
	}
	dir := devDir
	if !chatOpts.dev {
		cfg, err := os.UserConfigDir()
		if err != nil {
			return ""
		}
		dir = filepath.Join(cfg, "sotto")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		if chatOpts.verbose {
			fmt.Fprintln(cmd.ErrOrStderr(), "sotto: not keeping the key configuration:", err)
		}
		return ""
	}
	return filepath.Join(dir, "keyconfig-"+keyconfig.SigningKeyID(pin)+".json")
}

// isTerminal reports whether r is a character device (an interactive
// terminal), to show a prompt only there.
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func init() {
	f := chatCmd.Flags()
	f.StringVar(&chatOpts.server, "server", "", "server base URL (--dev: "+devServer+")")
	f.StringVar(&chatOpts.pin, "pin", "", "pinned signing public key, ed25519:<base64url> (sotto keys show --pin)")
	f.StringVar(&chatOpts.pinFile, "pin-file", "", "file holding the pinned signing public key")
	f.StringVar(&chatOpts.deviceKey, "device-key", "", "device key file (default $XDG_CONFIG_HOME/sotto/device.key; --dev: "+devDeviceKey+")")
	f.StringVar(&chatOpts.caFile, "ca-file", "", "PEM certificates to trust for an https server (default: the system roots)")
	f.StringVar(&chatOpts.suite, "suite", "x25519", "HPKE suite: x25519 or xwing")
	f.StringVar(&chatOpts.state, "state", "", "file keeping the verified key configuration across runs (default: per signing key in $XDG_CONFIG_HOME/sotto, or dev/ with --dev)")
	f.StringVarP(&chatOpts.prompt, "prompt", "p", "", "answer this one prompt and exit")
	f.StringVar(&chatOpts.system, "system", "", "system message")
	f.IntVar(&chatOpts.maxTokens, "max-tokens", 0, "most tokens to generate (0: the server's default)")
	f.Float64Var(&chatOpts.temperature, "temperature", 0, "sampling temperature (default: the server's)")
	f.Uint64Var(&chatOpts.seed, "seed", 0, "sampling seed (default: random)")
	f.BoolVar(&chatOpts.dev, "dev", false, "use the development server of make run: "+devServer+", "+devDeviceKey+", pin from "+devKeyDir)
	f.BoolVar(&chatOpts.verbose, "verbose", false, "also print the finish reason and prompt tokens to standard error")
	f.BoolVar(&chatOpts.noCache, "no-cache", false, "interactive mode: do not let the server keep the conversation's prompt between turns (each turn reads the whole history again)")
	f.BoolVar(&chatOpts.quiet, "quiet", false, "do not print tokens, time to first token and tokens/s after each reply")
	f.BoolVar(&chatOpts.enrolSoftware, "enrol-software", false, "first enrol the device key with the INSECURE software attester (development servers with SOTTO_ENROL_SOFTWARE only; docs/enrolment.md)")
	chatCmd.MarkFlagsMutuallyExclusive("pin", "pin-file")
	rootCmd.AddCommand(chatCmd)
}
