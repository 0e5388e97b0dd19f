/**
 * Keeps the README's error table in step with the closed set in src/errors.ts.
 * Regenerate the block with: UPDATE_README=1 npx jest tests/unit/docs/readme-error-codes.test.ts
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ERROR_CODES } from '../../../src/errors';

const README = join(__dirname, '../../../README.md');
const START = '<!-- error-codes:start -->';
const END = '<!-- error-codes:end -->';

function expectedTable(): string {
  const rows = Object.entries(ERROR_CODES).map(
    ([code, { status, summary }]) => `| \`${code}\` | ${status} | ${summary.replace(/\|/g, '\\|')} |`,
  );
  return ['| code | HTTP status | meaning |', '|---|---|---|', ...rows].join('\n');
}

function readBlock(text: string): string {
  const start = text.indexOf(START);
  const end = text.indexOf(END);
  if (start < 0 || end < start) throw new Error(`README.md lacks the ${START} ... ${END} block`);
  return text.slice(start + START.length, end).trim();
}

describe('README error codes', () => {
  it('lists exactly the codes of src/errors.ts, with their statuses and meanings', () => {
    const text = readFileSync(README, 'utf8');
    if (process.env.UPDATE_README === '1') {
      const start = text.indexOf(START) + START.length;
      writeFileSync(README, `${text.slice(0, start)}\n${expectedTable()}\n${text.slice(text.indexOf(END))}`);
    }
    expect(readBlock(readFileSync(README, 'utf8'))).toBe(expectedTable());
  });

  it('documents every code once', () => {
    const codes = readBlock(readFileSync(README, 'utf8')).match(/`ERR_[A-Z_]+`/g) ?? [];
    expect(new Set(codes).size).toBe(codes.length);
    expect(codes.length).toBe(Object.keys(ERROR_CODES).length);
  });
});
