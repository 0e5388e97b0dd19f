/**
 * The CLI's commands that run the server or open its data directory. This file and everything it imports
 * are in the repository, the Docker image and the nx-sealed-cache-server package, never in nx-sealed-cache:
 * only `server-gateway.ts` loads it, and only when it is there.
 */
export { registerAdminCommands } from './commands/admin';
export { registerBackupCommand } from './commands/backup';
export { registerServeCommand } from './commands/serve';
export { registerStorageCommands } from './commands/storage';
export { setPasswordOffline } from '../server/offline-password';
