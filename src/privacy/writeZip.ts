import { open, rename, rm } from 'node:fs/promises';
import { crc32 } from 'node:zlib';

/** One file of an archive: its path inside it (forward slashes) and its bytes. */
export interface ZipEntry {
  name: string;
  data: Buffer;
}

/** ZIP's limit without the Zip64 extension: sizes and offsets are 32 bits. */
const ZIP32_LIMIT = 0xffff_ffff;

/** MS-DOS date and time, as ZIP headers hold them (2-second steps; written in UTC). */
function dosDateTime(at: Date): { time: number; date: number } {
  const year = Math.max(1980, at.getUTCFullYear());
  return {
    time: (at.getUTCHours() << 11) | (at.getUTCMinutes() << 5) | Math.floor(at.getUTCSeconds() / 2),
    date: ((year - 1980) << 9) | ((at.getUTCMonth() + 1) << 5) | at.getUTCDate(),
  };
}

/**
 * The fields a local header and its central directory entry share, from "version needed" to the
 * extra field's length: version 2.0, UTF-8 names, stored, time and date, CRC-32, sizes, name length.
 */
function entryFields(e: { crc: number; size: number; nameLength: number; time: number; date: number }): Buffer {
  const b = Buffer.alloc(26);
  b.writeUInt16LE(20, 0);
  b.writeUInt16LE(0x0800, 2);
  b.writeUInt16LE(0, 4);
  b.writeUInt16LE(e.time, 6);
  b.writeUInt16LE(e.date, 8);
  b.writeUInt32LE(e.crc, 10);
  b.writeUInt32LE(e.size, 14);
  b.writeUInt32LE(e.size, 18);
  b.writeUInt16LE(e.nameLength, 22);
  b.writeUInt16LE(0, 24);
  return b;
}

/**
 * Writes a ZIP archive of stored (uncompressed) entries: the audio in a privacy export is already
 * compressed (mp3, opus) and the JSON and CSV are small, so no deflate is needed, and any unzip reads
 * it (`unzip -t` checks it in the tests). Written to `<path>.part`, then renamed, so a half-written
 * archive is never served. Throws when the archive would pass 4 GiB (no Zip64).
 */
export async function writeZip(path: string, entries: readonly ZipEntry[], at: Date): Promise<{ bytes: number }> {
  const { time, date } = dosDateTime(at);
  const partPath = `${path}.part`;
  const file = await open(partPath, 'w', 0o600);
  const central: Buffer[] = [];
  let offset = 0;
  try {
    for (const entry of entries) {
      const name = Buffer.from(entry.name, 'utf8');
      const crc = crc32(entry.data);
      const size = entry.data.length;
      if (offset + 30 + name.length + size > ZIP32_LIMIT) throw new Error('the export is over 4 GiB: too big for one archive');
      const fields = entryFields({ crc, size, nameLength: name.length, time, date });
      const local = Buffer.alloc(4);
      local.writeUInt32LE(0x04034b50, 0);
      await file.write(Buffer.concat([local, fields, name]));
      await file.write(entry.data);
      // Central directory: signature, made by (Unix, 2.0), the same fields, then comment, disk,
      // attributes (a regular file, rw for its owner) and where the local header is.
      const head = Buffer.alloc(6);
      head.writeUInt32LE(0x02014b50, 0);
      head.writeUInt16LE(0x0314, 4);
      const tail = Buffer.alloc(14);
      tail.writeUInt32LE((0o100600 << 16) >>> 0, 6);
      tail.writeUInt32LE(offset, 10);
      const header = Buffer.concat([head, fields, tail]);
      central.push(header, name);
      offset += 30 + name.length + size;
    }
    const directory = Buffer.concat(central);
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    end.writeUInt16LE(entries.length, 8);
    end.writeUInt16LE(entries.length, 10);
    end.writeUInt32LE(directory.length, 12);
    end.writeUInt32LE(offset, 16);
    await file.write(Buffer.concat([directory, end]));
    await file.sync();
  } catch (err) {
    await file.close();
    await rm(partPath, { force: true });
    throw err;
  }
  await file.close();
  await rename(partPath, path);
  return { bytes: offset + central.reduce((n, b) => n + b.length, 0) + 22 };
}
