/** The README's permission table and docs/server.md's route table are written from the policy and the route table; this keeps them true. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { permissionTableMarkdown, routeTableMarkdown } from '../../../src/server/auth/permission-table';
import { startTestServer, type TestServer } from '../server/test-server';

const root = join(__dirname, '..', '..', '..');
let ts: TestServer;

beforeAll(async () => {
  ts = await startTestServer();
});
afterAll(async () => ts.stop());

it("the README's security model holds the policy's permission table, row for row", () => {
  expect(readFileSync(join(root, 'README.md'), 'utf8')).toContain(permissionTableMarkdown());
});

it('docs/server.md lists every registered route with the action it declares', () => {
  expect(readFileSync(join(root, 'docs', 'server.md'), 'utf8')).toContain(routeTableMarkdown(ts.server.routes));
});

if (process.env.PRINT_PERMISSION_TABLES === '1') {
  it('prints the tables', () => {
    console.log(`${permissionTableMarkdown()}\n\n${routeTableMarkdown(ts.server.routes)}`);
  });
}
