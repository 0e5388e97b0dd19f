/** Archives: packing outputs into gzip'd tars and extracting untrusted ones safely. */
export { packDirectory } from './pack';
export type { PackOptions, SkippedEntry } from './pack';
export { extractArchive, inspectArchive, DEFAULT_EXTRACT_LIMITS } from './extract';
export type { ExtractLimits, ExtractResult } from './extract';
export { packLegacyCacheEntry, restoreLegacyCacheEntry } from './legacy-cache';
export type { PackedLegacyEntry } from './legacy-cache';
export { spoolToFile } from './spool';
