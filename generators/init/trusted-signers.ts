/** `--trustedSigners` and `--signing generate` for init: public keys go into nx.json, a private key never does. */
import { SealedCacheError } from '../../src/errors';
import { trustedSignerEntry } from '../../src/crypto/signing-keys';

export type TrustedSignerEntry = { keyId: string; publicKey: string };

/** Splits and checks the public keys the user typed; a bad one is refused by its position only. */
export function parseTrustedSignerList(spec: string | undefined): TrustedSignerEntry[] {
  if (spec === undefined) return [];
  const texts = spec.split(/[\s,]+/).filter((text) => text.length > 0);
  return texts.map((text, index) => {
    try {
      return trustedSignerEntry(text);
    } catch (cause) {
      const why = cause instanceof Error ? cause.message : 'invalid';
      throw new SealedCacheError('ERR_INPUT_INVALID', `--trustedSigners key ${index + 1}: ${why}`, { cause });
    }
  });
}

/** Existing entries stay first and in order; new keys are appended once (running twice changes nothing). */
export function mergeTrustedSigners(existing: unknown, added: TrustedSignerEntry[]): TrustedSignerEntry[] | undefined {
  const current = Array.isArray(existing) ? (existing as TrustedSignerEntry[]) : [];
  const known = new Set(current.map((entry) => entry?.keyId));
  const fresh = added.filter((entry) => !known.has(entry.keyId) && known.add(entry.keyId));
  if (fresh.length === 0) return undefined;
  return [...current, ...fresh];
}
