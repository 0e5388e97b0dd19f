import { randomBytes } from 'node:crypto';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** `length` base62 characters from `crypto.randomBytes`, by rejection sampling so every character is uniform. */
export function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      // 248 = 4 * 62: bytes above it would bias the low characters.
      if (byte < 248 && out.length < length) out += BASE62[byte % 62];
    }
  }
  return out;
}

/** Encodes a non-negative integer as exactly `width` base62 characters (left-padded with '0'). */
export function encodeBase62(value: number, width: number): string {
  let rest = value;
  let out = '';
  for (let i = 0; i < width; i++) {
    out = BASE62[rest % 62] + out;
    rest = Math.floor(rest / 62);
  }
  return out;
}

export const newOrgId = (): string => `org_${randomBase62(16)}`;
export const newUserId = (): string => `usr_${randomBase62(16)}`;
export const newTokenId = (): string => `tok_${randomBase62(16)}`;
/** Matches WORKSPACE_ID_PATTERN in src/protocol.ts. */
export const newWorkspaceId = (): string => `ws_${randomBase62(20)}`;
export const newUploadId = (): string => randomBase62(16);
export const newInvitationId = (): string => `inv_${randomBase62(16)}`;
