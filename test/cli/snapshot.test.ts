/** --snapshot-out: checked at start, written to a temporary file and renamed, never left truncated. */
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { checkSnapshotTarget, removeTempFilesSync, SnapshotTargetError, writeSnapshotAtomic } from '../../src/cli/snapshot.js';

const dir = mkdtempSync(join(tmpdir(), 'registry-snapshot-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function targetError(file: string): Promise<string> {
  const err = await checkSnapshotTarget(file).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SnapshotTargetError);
  return (err as Error).message;
}

describe('checkSnapshotTarget', () => {
  it('accepts a new file in an existing directory, and an existing file', async () => {
    await checkSnapshotTarget(join(dir, 'new.ndjson'));
    writeFileSync(join(dir, 'old.ndjson'), 'x\n');
    await checkSnapshotTarget(join(dir, 'old.ndjson'));
    expect(readdirSync(dir).sort()).toEqual(['old.ndjson']); // the probe file is gone
  });

  it('says in one line what is wrong', async () => {
    expect(await targetError('/no/such/dir/f')).toBe('--snapshot-out: directory /no/such/dir does not exist');
    writeFileSync(join(dir, 'plain'), '');
    expect(await targetError(join(dir, 'plain', 'f'))).toMatch(/--snapshot-out: .*plain is not a directory/);
    mkdirSync(join(dir, 'sub'));
    expect(await targetError(join(dir, 'sub'))).toMatch(/--snapshot-out: .*sub is a directory/);
  });
});

describe('writeSnapshotAtomic', () => {
  it('writes every item as a JSON line via a temporary file in the same directory', async () => {
    const file = join(dir, 'snap.ndjson');
    writeFileSync(file, 'OLD\n');
    let temp = '';
    const n = await writeSnapshotAtomic(
      Array.from({ length: 5000 }, (_, i) => ({ ticker: `T-${i}`, title: 'é ü 市場' })),
      file,
      { onTempFile: (p) => (temp = p), chunkBytes: 4096 },
    );
    expect(n).toBe(5000);
    expect(dirname(temp)).toBe(dir);
    expect(existsSync(temp)).toBe(false);
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(5000);
    expect(JSON.parse(lines[4999] as string)).toEqual({ ticker: 'T-4999', title: 'é ü 市場' });
  });

  it('leaves the previous file untouched and no temporary file when the write fails', async () => {
    const file = join(dir, 'keep.ndjson');
    writeFileSync(file, 'OLD\n');
    function* failing() {
      for (let i = 0; i < 10_000; i++) {
        if (i === 6000) throw new Error('boom');
        yield { i };
      }
    }
    await expect(writeSnapshotAtomic(failing(), file, { chunkBytes: 1024 })).rejects.toThrow('boom');
    expect(readFileSync(file, 'utf8')).toBe('OLD\n');
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('removeTempFilesSync removes a temporary file being written (forced exit), and the final file keeps its content', async () => {
    const file = join(dir, 'forced.ndjson');
    writeFileSync(file, 'OLD\n');
    let temp = '';
    const result = await writeSnapshotAtomic([{ a: 1 }, { a: 2 }], file, {
      onTempFile: (p) => {
        temp = p;
        expect(existsSync(p)).toBe(true);
        removeTempFilesSync(); // what the third signal does, before process.exit
      },
    }).then(
      () => 'renamed',
      (e: unknown) => (e as NodeJS.ErrnoException).code,
    );
    expect(result).toBe('ENOENT');
    expect(existsSync(temp)).toBe(false);
    expect(readFileSync(file, 'utf8')).toBe('OLD\n');
  });
});
