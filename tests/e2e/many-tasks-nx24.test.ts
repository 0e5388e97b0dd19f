/**
 * A run of several hundred tasks against the server's defaults: Nx 21+ looks up every task of a run at once, one
 * connection each, so a per-address connection cap below a run's task count closed Nx's connections and failed
 * the build ("Failed to send request"). Bare path (Nx's own client), so nothing in between pools connections.
 */
import { type TestBed, assertSucceeded, expectOutcomes, selfHostedCacheEnv, startTestBed } from './harness';

const PROJECTS = 300;

function manyProjects(): Record<string, string> {
  const files: Record<string, string> = {};
  for (let i = 0; i < PROJECTS; i++) {
    const name = `m${String(i).padStart(3, '0')}`;
    files[`projects/${name}/project.json`] = JSON.stringify({
      name,
      sourceRoot: `projects/${name}/src`,
      targets: {
        build: {
          executor: 'nx:run-commands',
          outputs: [`{workspaceRoot}/dist/${name}`],
          options: {
            command: `node -e "require('fs').mkdirSync('dist/${name}',{recursive:true});require('fs').writeFileSync('dist/${name}/out.txt','${name}')"`,
          },
        },
      },
    });
    files[`projects/${name}/src/index.txt`] = `${name}\n`;
  }
  return files;
}

describe(`Nx 24, ${PROJECTS} tasks straight to the server with its default limits`, () => {
  let bed: TestBed;
  let names: string[];

  beforeAll(async () => {
    bed = await startTestBed('nx24');
    for (const [path, content] of Object.entries(manyProjects())) bed.ws.writeFile(path, content);
    names = [
      ...bed.ws.projects,
      ...Object.keys(manyProjects())
        .filter((p) => p.endsWith('project.json'))
        .map((p) => p.split('/')[1]!),
    ];
  }, 120_000);

  afterAll(async () => {
    await bed?.dispose();
  });

  it('stores every task on the first run and restores every one from the server after a reset', async () => {
    const env = selfHostedCacheEnv(`${bed.server.url}/w/${bed.boot.workspace.id}`, bed.writeToken.token);
    const first = await bed.ws.run(['run-many', '-t', 'build', '--parallel=8'], env);
    assertSucceeded(first);
    expectOutcomes(first, Object.fromEntries(names.map((n) => [n, 'miss'])));
    await bed.ws.reset();
    const second = await bed.ws.run(['run-many', '-t', 'build', '--parallel=8'], env);
    assertSucceeded(second);
    expectOutcomes(second, Object.fromEntries(names.map((n) => [n, 'remote'])));
  });
});
