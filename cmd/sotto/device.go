package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/sottolabs/sotto/crypto/device"
)

// defaultAllowList is the device allow-list of a packaged install: the
// units', .env.production's and docs/deployment.md's SOTTO_ALLOW_LIST.
const defaultAllowList = "/etc/sotto/devices"

var deviceOpts struct {
	out, key, allowList string
}

var deviceCmd = &cobra.Command{
	Use:   "device",
	Short: "Create device keys and enroll them in the server's allow-list",
}

var deviceInitCmd = &cobra.Command{
	Use: "init [--out F]",
	Example: `  sotto device init                       # $XDG_CONFIG_HOME/sotto/device.key
  sotto device init --out phone.key`,
	Short: "Create a device key file (0600) and print its public Sotto-Device value",
	Args:  cobra.NoArgs,
	RunE: func(cmd *cobra.Command, _ []string) error {
		path, err := deviceKeyPath(deviceOpts.out)
		if err != nil {
			return err
		}
		budget, err := keysBudget()
		if err != nil {
			return err
		}
		priv, err := device.GenerateEd25519(rand.Reader, budget)
		if err != nil {
			return err
		}
		defer priv.Destroy()
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return fmt.Errorf("device: %w", err)
		}
		if err := device.WriteKeyFile(path, priv.Bytes(), budget); err != nil {
			return deviceExistsError(path, err)
		}
		k, err := device.PublicKey(ed25519.PrivateKey(priv.Bytes()))
		if err != nil {
			return err
		}
		fmt.Fprintln(cmd.OutOrStdout(), k)
		return nil
	},
}

var deviceShowCmd = &cobra.Command{
	Use:   "show [--key F]",
	Short: "Print the public Sotto-Device value of a device key file",
	Args:  cobra.NoArgs,
	RunE: func(cmd *cobra.Command, _ []string) error {
		path, err := deviceKeyPath(deviceOpts.key)
		if err != nil {
			return err
		}
		budget, err := keysBudget()
		if err != nil {
			return err
		}
		priv, err := device.ReadKeyFile(path, budget)
		if err != nil {
			return deviceKeyError(path, err)
		}
		defer priv.Destroy()
		k, err := device.PublicKey(ed25519.PrivateKey(priv.Bytes()))
		if err != nil {
			return err
		}
		fmt.Fprintln(cmd.OutOrStdout(), k)
		return nil
	},
}

var deviceAllowCmd = &cobra.Command{
	Use: "allow PUBLIC-KEY [--allow-list F]",
	Example: `  sotto device allow "$(sotto device show --key dev/device.key)" --allow-list dev/allow-list
  sotto device allow ed25519:3Nc0... --allow-list /etc/sotto/devices`,
	Short: "Add a device's public key (ed25519:... or p256:...) to the allow-list",
	Args:  cobra.ExactArgs(1),
	RunE: func(cmd *cobra.Command, args []string) error {
		k, err := device.ParseKey(args[0])
		if err != nil {
			return keyArgError(err)
		}
		err = device.Allow(deviceOpts.allowList, k)
		if errors.Is(err, device.ErrListed) {
			fmt.Fprintf(cmd.OutOrStdout(), "already allowed in %s\n", deviceOpts.allowList)
			return nil
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "allowed in %s (a running server re-reads it within a second)\n", deviceOpts.allowList)
		return nil
	},
}

// deviceKeyPath returns path, or the default device key file
// ($XDG_CONFIG_HOME/sotto/device.key or its platform equivalent).
func deviceKeyPath(path string) (string, error) {
	if path != "" {
		return path, nil
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("device: no default key file location (use --out/--key): %w", err)
	}
	return filepath.Join(dir, "sotto", "device.key"), nil
}

func init() {
	deviceInitCmd.Flags().StringVar(&deviceOpts.out, "out", "", "device key file to create (default $XDG_CONFIG_HOME/sotto/device.key)")
	deviceShowCmd.Flags().StringVar(&deviceOpts.key, "key", "", "device key file (default $XDG_CONFIG_HOME/sotto/device.key)")
	deviceAllowCmd.Flags().StringVar(&deviceOpts.allowList, "allow-list", defaultAllowList, "allow-list file")
	deviceCmd.AddCommand(deviceInitCmd, deviceShowCmd, deviceAllowCmd, deviceRevokeCmd)
	rootCmd.AddCommand(deviceCmd)
}
