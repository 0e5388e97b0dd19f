/** The CLI's one door to the server's code: which commands need it, and what a copy without it says. */
import {
  SERVER_PACKAGE,
  installedServerCli,
  localServerCommands,
  serverCommandOf,
  serverNotInstalled,
} from '../../../src/cli/server-gateway';
import { packageVersion } from '../../../src/version';

describe('serverCommandOf', () => {
  it.each([
    [['serve', '--data-dir', 'x'], 'serve'],
    [['--url', 'http://h:1', '--json', 'admin', 'init'], 'admin'],
    [['--token=t', 'backup', '--to', 'b'], 'backup'],
    [['storage', 'migrate'], 'storage'],
    [['user', 'set-password', 'ada', '--data-dir', 'd'], 'user set-password --data-dir'],
    [['user', 'set-password', 'ada', '--data-dir=d'], 'user set-password --data-dir'],
  ])('%j needs the server: %s', (argv, command) => {
    expect(serverCommandOf(argv)).toBe(command);
  });

  it.each([
    [['login']],
    [['user', 'set-password', 'ada']],
    [['--url', 'serve', 'doctor']],
    [['org', 'create', 'serve']],
    [['--help']],
    [[]],
  ])('%j does not', (argv) => {
    expect(serverCommandOf(argv)).toBeUndefined();
  });
});

it('the repository has the server commands, and no nx-sealed-cache-server is installed here', () => {
  expect(typeof localServerCommands()?.registerServeCommand).toBe('function');
  expect(installedServerCli(['/'])).toBeUndefined();
});

it('the refusal names the package and this version, with its stable code', () => {
  const err = serverNotInstalled('serve');
  expect(err.code).toBe('ERR_SERVER_NOT_INSTALLED');
  expect(err.message).toContain(`npm install ${SERVER_PACKAGE}@${packageVersion()}`);
  expect(packageVersion()).toMatch(/^\d+\.\d+\.\d+/);
});
