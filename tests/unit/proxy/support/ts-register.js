/**
 * Lets a child `node` process run the proxy's TypeScript source directly (transpile only, for tests).
 * Loading the compiler and transpiling the proxy's ~35 files cost each child 1-2 s of CPU (more on a
 * busy 2-core machine, past jest's timeout), so the output is cached on disk by content hash and the
 * compiler is loaded only on a miss.
 */
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const COMPILER_OPTIONS = { module: 'CommonJS', target: 'ES2022', esModuleInterop: true };
const cacheDir = path.join(os.tmpdir(), 'nx-sealed-cache-ts-register');
const compilerVersion = require('typescript/package.json').version;
let ts;

require.extensions['.ts'] = function compileTypeScript(module, filename) {
  const source = fs.readFileSync(filename, 'utf8');
  module._compile(cachedTranspile(filename, source), filename);
};

function cachedTranspile(filename, source) {
  const key = crypto
    .createHash('sha256')
    .update(JSON.stringify([compilerVersion, COMPILER_OPTIONS, filename, source]))
    .digest('hex');
  const cacheFile = path.join(cacheDir, `${key}.js`);
  try {
    return fs.readFileSync(cacheFile, 'utf8');
  } catch {
    const output = transpile(filename, source);
    // Several children may transpile at once: write aside, then rename into place.
    fs.mkdirSync(cacheDir, { recursive: true });
    const temp = `${cacheFile}.${process.pid}.tmp`;
    fs.writeFileSync(temp, output);
    fs.renameSync(temp, cacheFile);
    return output;
  }
}

function transpile(filename, source) {
  ts ??= require('typescript');
  const compilerOptions = {
    module: ts.ModuleKind.CommonJS,
    target: ts.ScriptTarget.ES2022,
    esModuleInterop: COMPILER_OPTIONS.esModuleInterop,
  };
  return ts.transpileModule(source, { compilerOptions, fileName: filename }).outputText;
}
