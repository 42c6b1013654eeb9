/**
 * `--snapshot-out FILE`: checked when the CLI starts (the directory exists and a file can be
 * created in it), written on stop to a temporary file in the same directory, synced, then
 * renamed over FILE. FILE is therefore either its previous content or a complete snapshot,
 * never a truncated one, whatever happens during the write (a forced exit removes the
 * temporary file with `removeTempFilesSync`).
 */
import { randomBytes } from 'node:crypto';
import { unlinkSync } from 'node:fs';
import { open, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';

export class SnapshotTargetError extends Error {
  override readonly name = 'SnapshotTargetError';
}

/** Temporary files being written now, for removal on a forced exit. */
const tempFiles = new Set<string>();

/** Removes every snapshot temporary file still being written (for a forced exit; synchronous). */
export function removeTempFilesSync(): void {
  for (const file of tempFiles) {
    try {
      unlinkSync(file);
    } catch {
      /* already renamed or gone */
    }
  }
  tempFiles.clear();
}

function tempNameFor(file: string, suffix = 'tmp'): string {
  return join(dirname(file), `.${basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.${suffix}`);
}

/** Where `file` would be written; throws SnapshotTargetError with a one-line reason if it cannot be. */
export async function checkSnapshotTarget(file: string): Promise<void> {
  const path = resolve(file);
  const dir = dirname(path);
  const dirStat = await stat(dir).catch((err: unknown) => {
    const code = (err as NodeJS.ErrnoException).code;
    throw new SnapshotTargetError(
      code === 'ENOENT' ? `--snapshot-out: directory ${dir} does not exist` : `--snapshot-out: cannot use directory ${dir} (${code ?? 'error'})`,
    );
  });
  if (!dirStat.isDirectory()) throw new SnapshotTargetError(`--snapshot-out: ${dir} is not a directory`);
  const existing = await stat(path).catch(() => null);
  if (existing?.isDirectory()) throw new SnapshotTargetError(`--snapshot-out: ${path} is a directory`);
  // The only reliable test (read-only file systems, ACLs, root): create and remove a file there.
  const probe = tempNameFor(path, 'probe');
  try {
    const fh = await open(probe, 'wx');
    await fh.close();
    await unlink(probe);
  } catch (err) {
    throw new SnapshotTargetError(`--snapshot-out: cannot create files in ${dir} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

export interface WriteSnapshotOptions {
  /** Called once the temporary file exists, with its path (tests, progress). */
  readonly onTempFile?: (path: string) => void;
  /** Bytes per write (default 1 MiB). */
  readonly chunkBytes?: number;
}

async function writeAll(fh: FileHandle, text: string): Promise<void> {
  const buf = Buffer.from(text);
  for (let off = 0; off < buf.length;) {
    const { bytesWritten } = await fh.write(buf, off, buf.length - off);
    off += bytesWritten;
  }
}

/**
 * Writes one JSON line per item to a temporary file next to `file`, fsyncs it, renames it to
 * `file`, and returns how many lines were written. On error the temporary file is removed and
 * `file` is left as it was.
 */
export async function writeSnapshotAtomic(items: Iterable<unknown>, file: string, options: WriteSnapshotOptions = {}): Promise<number> {
  const target = resolve(file);
  const temp = tempNameFor(target);
  const chunkBytes = options.chunkBytes ?? 1 << 20;
  // Known before it exists: a forced exit while open() is under way still removes it.
  tempFiles.add(temp);
  const fh = await open(temp, 'wx', 0o666).catch((err: unknown) => {
    tempFiles.delete(temp);
    throw err;
  });
  let n = 0;
  try {
    options.onTempFile?.(temp);
    let chunk = '';
    for (const item of items) {
      n++;
      chunk += `${JSON.stringify(item)}\n`;
      if (chunk.length >= chunkBytes) {
        await writeAll(fh, chunk);
        chunk = '';
      }
    }
    if (chunk) await writeAll(fh, chunk);
    await fh.sync();
    await fh.close();
    await rename(temp, target);
    tempFiles.delete(temp);
    return n;
  } catch (err) {
    await fh.close().catch(() => {});
    await unlink(temp).catch(() => {});
    tempFiles.delete(temp);
    throw err;
  }
}
