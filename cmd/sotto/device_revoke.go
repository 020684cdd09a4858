package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sottolabs/sotto/crypto/device"
)

var deviceRevokeCmd = &cobra.Command{
	Use:   "revoke PUBLIC-KEY [--allow-list F]",
	Short: "Remove a device's public key from the allow-list (a running server re-reads it within a second)",
	Example: `  sotto device revoke ed25519:3Nc0... --allow-list /etc/sotto/devices
  sotto device revoke "$(sotto device show --key dev/device.key)" --allow-list dev/allow-list`,
	Args: cobra.ExactArgs(1),
	RunE: func(cmd *cobra.Command, args []string) error {
		k, err := device.ParseKey(args[0])
		if err != nil {
			return keyArgError(err)
		}
		err = device.Revoke(deviceOpts.allowList, k)
		if errors.Is(err, device.ErrNotListed) {
			return hint{"the key is not in " + deviceOpts.allowList + ": nothing was revoked",
				"check --allow-list (the server's SOTTO_ALLOW_LIST; dev/allow-list for make run) and the key"}.wrap(err)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "revoked in %s\n", deviceOpts.allowList)
		return nil
	},
}

func init() {
	deviceRevokeCmd.Flags().StringVar(&deviceOpts.allowList, "allow-list", defaultAllowList, "allow-list file (the server's SOTTO_ALLOW_LIST)")
}
