/** Where `nx-sealed-cache login` keeps tokens; apart from the file's parser so the plugin's hooks can find it cheaply. */
import { homedir } from 'node:os';
import { join } from 'node:path';

/** `${XDG_CONFIG_HOME:-~/.config}/nx-sealed-cache/credentials.json`, resolved at call time. */
export function credentialsFilePath(homeDir?: string, env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_CONFIG_HOME?.trim();
  const configHome = xdg ? xdg : join(homeDir ?? homedir(), '.config');
  return join(configHome, 'nx-sealed-cache', 'credentials.json');
}
