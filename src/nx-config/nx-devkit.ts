/**
 * The few devkit functions our generators need, loaded from `nx/src/devkit-exports` of the nx the
 * workspace runs, because each `@nx/devkit` major only supports nx one major either side.
 */

/** The part of Nx's `Tree` we use; every Nx 17–24 tree satisfies it. */
export interface WorkspaceTree {
  readonly root: string;
  exists(filePath: string): boolean;
  read(filePath: string, encoding: BufferEncoding): string | null;
  write(filePath: string, content: string): void;
}

export type NxJson = Record<string, unknown>;

export interface GeneratorLogger {
  info(message: string): void;
  warn(message: string): void;
}

/** Injected into the generators' cores so tests can count writes. */
export interface NxJsonAccess {
  readNxJson(tree: WorkspaceTree): NxJson | null;
  updateNxJson(tree: WorkspaceTree, nxJson: NxJson): void;
}

interface DevkitSubset extends NxJsonAccess {
  logger: GeneratorLogger;
}

/** Loaded on first use so importing a generator does no work and picks up the workspace's nx. */
export function loadDevkit(): DevkitSubset {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('nx/src/devkit-exports') as DevkitSubset;
}
