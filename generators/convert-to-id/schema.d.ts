export interface ConvertToIdGeneratorSchema {
  /** Cache server URL, when neither nx.json nor NX_SEALED_CACHE_URL has one. */
  url?: string;
  /** How long to wait for the server, in milliseconds. */
  timeoutMs?: number;
}
