#!/usr/bin/env node
// Entry of `npm run bench [-- --quick] [-- --only <section,...>]`: see docs/benchmarks.md.
require('./ts-register');
const { main } = require('./main.ts');

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    console.error(err);
    process.exitCode = 1;
  },
);
