import { type CapturedRun, runCliCaptured } from './cli-captured';
import { resolveClientConfig } from '../../../src/client/config';
import { parseSigningKey } from '../../../src/crypto/signing-keys';

async function cli(...argv: string[]): Promise<CapturedRun> {
  return runCliCaptured(argv);
}

describe('nx-sealed-cache signing-key generate', () => {
  it('prints a usable private key once, on stdout only, and the nx.json entry its readers accept', async () => {
    const run = await cli('signing-key', 'generate', '--json');
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    const printed = JSON.parse(run.stdout) as {
      keyId: string;
      privateKey: string;
      trustedSigner: { keyId: string; publicKey: string };
    };
    expect(parseSigningKey(printed.privateKey).id).toBe(printed.keyId);
    const config = resolveClientConfig({
      options: {
        url: 'http://127.0.0.1:1',
        workspaceId: 'ws_aaaaaaaaaaaaaaaaaaaa',
        trustedSigners: [printed.trustedSigner],
      },
      env: { NX_SEALED_CACHE_SIGNING_KEY: printed.privateKey },
    });
    expect(config.signingKey?.id).toBe(printed.keyId);
    expect(config.verification).toMatchObject({ required: true, signers: [{ id: printed.keyId }] });
    expect(config.warnings).toEqual([]);
  });

  it('shows the private key exactly once in the human output, and a new key every time', async () => {
    const first = await cli('signing-key', 'generate');
    const second = await cli('signing-key', 'generate');
    expect(first.code).toBe(0);
    expect(first.stderr).toBe('');
    const keys = first.stdout.match(/nxsig1_[A-Za-z0-9_-]{43}/g);
    expect(keys).toHaveLength(1);
    expect(first.stdout).toContain('NX_SEALED_CACHE_SIGNING_KEY');
    expect(first.stdout).toMatch(/"trustedSigners": \[/);
    expect(second.stdout).not.toContain(keys![0]);
  });
});
