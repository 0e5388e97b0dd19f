/**
 * `nx-sealed-cache signing-key generate`: a new Ed25519 key pair for signed entries. The private key
 * is printed once, on stdout only, for the trusted CI job's secret; the public key as the nx.json entry.
 */
import type { Command } from 'commander';
import { ENV_SIGNING_KEY } from '../../client/config';
import { generateSigningKey, trustedSignerEntry } from '../../crypto/signing-keys';
import type { CommandContext } from '../command-context';
import { printResult } from '../output';

export interface GeneratedSigningKeyOutput {
  keyId: string;
  privateKey: string;
  publicKey: string;
  trustedSigner: { keyId: string; publicKey: string };
}

export function generateSigningKeyOutput(): GeneratedSigningKeyOutput {
  const generated = generateSigningKey();
  return {
    keyId: generated.keyId,
    privateKey: generated.privateKeyText,
    publicKey: generated.publicKeyText,
    trustedSigner: trustedSignerEntry(generated.publicKeyText),
  };
}

function describeGenerated(result: GeneratedSigningKeyOutput): string {
  const snippet = JSON.stringify({ trustedSigners: [result.trustedSigner] }, null, 2)
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');
  return [
    `New signing key ${result.keyId}.`,
    '',
    `Private key (shown once, not written anywhere): store it as the ${ENV_SIGNING_KEY} secret of the trusted CI job only.`,
    `  ${result.privateKey}`,
    '',
    'Public key: add it to the nx-sealed-cache options in nx.json (plugin options on Nx 20.8+, runner options on 17-20).',
    'During a rotation list the old and the new key until no entry signed by the old one is needed.',
    snippet,
  ].join('\n');
}

export function registerSigningKeyCommands(program: Command, ctx: CommandContext): void {
  const group = program.command('signing-key').description('keys that trusted writers sign entries with');
  group
    .command('generate')
    .description('print a new Ed25519 signing key (once) and the nx.json entry of its public key')
    .action(
      ctx.action(async ({ globals, io }) => {
        printResult(io, globals, generateSigningKeyOutput(), describeGenerated);
      }),
    );
}
