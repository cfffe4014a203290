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
      const local = Buffer.alloc(30);
      local.writeUInt32LE(0x04034b50, 0);
      local.writeUInt16LE(20, 4); // version needed: 2.0
      local.writeUInt16LE(0x0800, 6); // names are UTF-8
      local.writeUInt16LE(0, 8); // stored
      local.writeUInt16LE(time, 10);
      local.writeUInt16LE(date, 12);
      local.writeUInt32LE(crc, 14);
      local.writeUInt32LE(size, 18);
      local.writeUInt32LE(size, 22);
      local.writeUInt16LE(name.length, 26);
      local.writeUInt16LE(0, 28);
      await file.write(Buffer.concat([local, name]));
      await file.write(entry.data);
      const header = Buffer.alloc(46);
      header.writeUInt32LE(0x02014b50, 0);
      header.writeUInt16LE(0x0314, 4); // made by: Unix, 2.0
      header.writeUInt16LE(20, 6);
      header.writeUInt16LE(0x0800, 8);
      header.writeUInt16LE(0, 10);
      header.writeUInt16LE(time, 12);
      header.writeUInt16LE(date, 14);
      header.writeUInt32LE(crc, 16);
      header.writeUInt32LE(size, 20);
      header.writeUInt32LE(size, 24);
      header.writeUInt16LE(name.length, 28);
      header.writeUInt32LE((0o100600 << 16) >>> 0, 38); // a regular file, rw for its owner
      header.writeUInt32LE(offset, 42);
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
