package main

import (
	"context"
	"fmt"

	"github.com/changeproof/changeproof/api"
	"github.com/changeproof/changeproof/api/ui"
	"github.com/changeproof/changeproof/audit"
	"github.com/changeproof/changeproof/audit/sign"
	"github.com/changeproof/changeproof/config"
	"github.com/spf13/cobra"
)

// manifestSigner loads signing.key_file; nil (and no error) when exports
// are not signed.
func manifestSigner(cfg config.Config) (audit.ManifestSigner, error) {
	if cfg.Signing.KeyFile == "" {
		return nil, nil
	}
	s, err := sign.Load(cfg.Signing.KeyFile, cfg.Signing.Identity)
	if err != nil {
		return nil, err
	}
	return s, nil
}

func newVerifyExportCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "verify-export DIR",
		Short: "Check an export's or report's hashes and signature",
		Long: `Check a sample export or period report directory against its
manifest.json: every file's SHA-256, no file missing or added, and, when
the manifest is signed (signing.key_file), its SSH signature. With
--key-fingerprint the signature must be by that key.`,
		Example: `  changeproof verify-export sample-h1
  changeproof verify-export report-h1 --key-fingerprint SHA256:Zm9vYmFy...`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("usage: changeproof verify-export DIR [--key-fingerprint SHA256:...] (give one directory)")
			}
			return nil
		},
	}
	trusted := cmd.Flags().String("key-fingerprint", "", "require the signature to be by this key (SHA256:..., as ssh-keygen -l prints it)")
	cmd.RunE = run(func(_ *cobra.Command, args []string) error { return runVerifyExport(args[0], *trusted) })
	return cmd
}

// runVerifyExport checks an export or report directory against its
// manifest and, when signed, the manifest's SSH signature.
func runVerifyExport(dir, trusted string) error {
	res, err := sign.VerifyDir(dir, trusted)
	if err != nil {
		return fmt.Errorf("%s: NOT VERIFIED:\n%w", dir, err)
	}
	fmt.Printf("%s: %d files match manifest.json\n", dir, res.Files)
	if !res.Signed {
		fmt.Println("not signed: the hashes show the files agree with manifest.json, not who wrote it")
		return nil
	}
	s := res.Signature
	fmt.Printf("manifest.json.sig: good %q signature by %s (key %s)\n", sign.Namespace, s.Identity, s.KeyFingerprint)
	if trusted == "" {
		fmt.Printf("check that %s is your organisation's signing key, or verify with ssh-keygen:\n", s.KeyFingerprint)
		fmt.Printf("  echo '%s namespaces=\"%s\" %s' > allowed_signers\n", s.Identity, sign.Namespace, s.PublicKey)
		fmt.Printf("  ssh-keygen -Y verify -f allowed_signers -I %s -n %s -s manifest.json.sig < manifest.json\n", s.Identity, sign.Namespace)
	}
	return nil
}

// wireAuditor gives the api role its auditor workspace: the signing key,
// the period report and the web UI.
func (a *app) wireAuditor(cfg config.Config, svc *api.Service, src api.AuditSource) error {
	signer, err := manifestSigner(cfg)
	if err != nil {
		return err
	}
	a.api.Signer = signer
	rp := reporter(cfg, svc, signer)
	a.api.Report = rp
	a.api.UI = &ui.Handler{Auth: cfg.Server.RoleOf, Service: svc, Audit: &src, Reporter: rp, Signer: signer,
		ChainHead: func(ctx context.Context) (string, error) {
			_, h, err := svc.Store.ChainHead(ctx)
			return h, err
		}, Version: Version, Log: a.api.Log.Named("ui")}
	return nil
}
