/** The package entry Nx loads as a tasks runner on Nx 17–20 ('default' in m ? m.default : m). */
export { default } from './runner';
/** The Nx 20.8–24 plugin hooks; Nx's plugin loader uses the module itself since `default` has no plugin keys. */
export { name, preTasksExecution, postTasksExecution } from './plugin';
