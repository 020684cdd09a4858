package node

import (
	"fmt"
	"time"

	"github.com/sottolabs/sotto/crypto/device"
	"github.com/sottolabs/sotto/crypto/device/attest"
	enrolment "github.com/sottolabs/sotto/crypto/device/enrol"
	"github.com/sottolabs/sotto/crypto/replay"
	"github.com/sottolabs/sotto/server/config"
)

// maxChallenges bounds the register of redeemed enrolment challenges
// (each lives enrolment.ChallengeTTL).
const maxChallenges = 1_000_000

// EnrolPlan is the enrolment service behind the attested device policies
// (docs/enrolment.md).
type EnrolPlan struct {
	On            bool // SOTTO_DEVICE_POLICY attested or attested+allowlist
	WithAllowList bool // attested+allowlist: enrolled and listed
	AppleAppIDs   []string
	// Android: application ids, signing certificate digests, and the
	// secret file of the Play Integrity response keys.
	AndroidPackages, AndroidCertDigests []string
	AndroidKeys                         string
	Development, Software               bool
	TTL                                 time.Duration
	Revoked                             string
}

func enrolPlan(cfg config.Config) EnrolPlan {
	return EnrolPlan{
		On: cfg.DevicePolicy.IsAttested(), WithAllowList: cfg.DevicePolicy == config.AttestedAllowList,
		AppleAppIDs: cfg.EnrolAppleAppIDs, AndroidPackages: cfg.EnrolAndroidPackages,
		AndroidCertDigests: cfg.EnrolAndroidCertDigests, AndroidKeys: cfg.EnrolAndroidKeys,
		Development: cfg.EnrolDevelopment, Software: cfg.EnrolSoftware,
		TTL: cfg.EnrolTTL(), Revoked: cfg.EnrolRevoked,
	}
}

// attestedPolicy builds the enrolment service (kept for the server's
// endpoints) and returns its policy, with the allow-list for
// attested+allowlist.
func (n *Node) attestedPolicy() (device.Policy, error) {
	ep := n.plan.Enrol
	if n.plan.Role == config.RoleRouter {
		return n.routerAttestedPolicy()
	}
	revoked, err := enrolment.LoadRevocations(ep.Revoked)
	if err != nil {
		return nil, fmt.Errorf("node: %w", err)
	}
	cfg := enrolment.Config{Signer: n.keys, Register: replay.NewMemory(maxChallenges), Software: ep.Software,
		TTL: ep.TTL, Revoked: revoked}
	if len(ep.AppleAppIDs) > 0 {
		cfg.Apple = &attest.AppAttest{AppIDs: ep.AppleAppIDs, Roots: attest.AppleRoots(), AllowDevelopment: ep.Development}
	}
	if len(ep.AndroidPackages) > 0 {
		dec, pub, err := attest.LoadPlayKeys(ep.AndroidKeys, n.budget)
		if err != nil {
			return nil, fmt.Errorf("node: %w", err)
		}
		cfg.Play = &attest.PlayIntegrity{PackageNames: ep.AndroidPackages, CertDigests: ep.AndroidCertDigests,
			DecryptionKey: dec.Bytes()[:32], VerificationKey: pub, AllowDevelopment: ep.Development}
	}
	if ep.Software {
		n.log.Warn("enrolment: the SOFTWARE attester is accepted: it proves nothing about the device (development only)")
	}
	n.enrol = enrolment.New(cfg)
	if !ep.WithAllowList {
		return n.enrol.Policy(), nil
	}
	al, err := device.LoadAllowList(n.plan.Devices.AllowList)
	if err != nil {
		return nil, fmt.Errorf("node: %w", err)
	}
	n.allowList = al
	return device.AllOf(al, n.enrol.Policy()), nil
}

// routerAttestedPolicy is a router's part of the attested policies: it
// relays enrolment and leaves credentials to the workers (it has no key
// directory), checking only its allow-list under attested+allowlist.
func (n *Node) routerAttestedPolicy() (device.Policy, error) {
	if !n.plan.Enrol.WithAllowList {
		return device.NewDelegatedPolicy(), nil
	}
	al, err := device.LoadAllowList(n.plan.Devices.AllowList)
	if err != nil {
		return nil, fmt.Errorf("node: %w", err)
	}
	n.allowList = al
	return al, nil
}
