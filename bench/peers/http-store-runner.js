// Copied into the Nx 20 benchmark workspace as tools/peer-runner.js: nx-remotecache-custom backed by a minimal HTTP
// store (GET/PUT /v1/cache/<name>, the reference server), unsealed, the way many Nx 17-20 users set it up.
const http = require('node:http');
const { createCustomRunner } = require('nx-remotecache-custom');

const agent = new http.Agent({ keepAlive: true });

function request(method, name, body) {
  const base = new URL(process.env.BENCH_STORE_URL);
  return new Promise((resolve, reject) => {
    const headers = body ? { 'content-type': 'application/octet-stream', 'content-length': body.length } : {};
    const req = http.request(
      { host: base.hostname, port: base.port, method, path: `/v1/cache/${name}`, headers, agent },
      resolve,
    );
    req.on('error', reject);
    req.end(body);
  });
}

// The store's names allow no dots: `<hash>.tar.gz` becomes `<hash>_tar_gz`.
const storeName = (file) => file.replace(/[^A-Za-z0-9_-]/g, '_');

module.exports = createCustomRunner(async () => {
  const found = new Map();
  return {
    name: 'bench-http-store',
    // One GET answers both questions: the body waits here for retrieveFile.
    fileExists: async (file) => {
      const res = await request('GET', storeName(file));
      if (res.statusCode === 200) {
        found.set(file, res);
        return true;
      }
      res.resume();
      return false;
    },
    retrieveFile: async (file) => {
      const res = found.get(file);
      found.delete(file);
      return res;
    },
    storeFile: async (file, stream) => {
      const chunks = [];
      for await (const chunk of stream) chunks.push(chunk);
      const res = await request('PUT', storeName(file), Buffer.concat(chunks));
      res.resume();
      if (res.statusCode !== 200 && res.statusCode !== 409) throw new Error(`store answered ${res.statusCode}`);
    },
  };
});
