package main

import (
	"github.com/spf13/cobra"

	"github.com/sottolabs/sotto/client"
	"github.com/sottolabs/sotto/crypto/device"
)

// chatEnrol enrols the device key before the first request when
// --enrol-software asks for it: the development attester, which servers
// accept only with SOTTO_ENROL_SOFTWARE (refused in production). Apps in
// a store enrol with App Attest or Play Integrity instead.
func chatEnrol(cmd *cobra.Command, c *client.Client, dev device.Key) error {
	if !chatOpts.enrolSoftware {
		return nil
	}
	exp, err := c.Enrol(cmd.Context(), client.InsecureSoftwareAttester{})
	if err != nil {
		return describeChatError(err, dev)
	}
	if chatOpts.verbose {
		cmd.PrintErrf("[enrolled with the insecure software attester until %s]\n", exp.Format("2006-01-02 15:04:05Z07:00"))
	}
	return nil
}
