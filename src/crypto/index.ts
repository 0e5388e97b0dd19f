/** Sealing: keys and the streaming sealed format. */
export {
  generateEncryptionKey,
  parseEncryptionKeys,
  findKeyById,
  GENERATED_KEY_PREFIX,
  GENERATE_KEY_COMMAND,
} from './keys';
export type { SealingKey, SealingKeySource } from './keys';
export { createSealStream, createOpenStream, isSealed, sealedKeyId, sealedLength, SEALED_HEADER_BYTES } from './seal';
export type { SealOptions } from './seal';
