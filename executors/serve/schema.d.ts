export interface ServeExecutorSchema {
  /** Where the server keeps metadata and blobs; relative paths are from the workspace root. Keep it out of git. */
  dataDir: string;
  /** Address to listen on. */
  host?: string;
  /** Port to listen on; 0 picks a free one. */
  port?: number;
  /** Largest accepted artifact, e.g. `512MiB` or `2GiB`. */
  maxArtifactSize?: string;
}
