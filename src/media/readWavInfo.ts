import { open } from 'node:fs/promises';

export interface WavInfo {
  fileSize: number;
  /** RIFF chunk size as written in the header (offset 4). */
  riffSize: number;
  /** Header finalised: RIFF size = file size − 8. Asterisk writes it when it closes the file. */
  finalised: boolean;
  sampleRate: number | null;
  channels: number | null;
  bitsPerSample: number | null;
  /** Bytes of audio after the data chunk header, counted from the file size (not the header's claim). */
  dataBytes: number | null;
  /** Seconds of audio from dataBytes and the fmt chunk, or null when the header is not readable. */
  durationSeconds: number | null;
}

/**
 * Reads a WAV file's header (first 4 KiB). Returns null when the file is not RIFF/WAVE.
 *
 * @example (await readWavInfo('/var/spool/asterisk/recording/x.wav'))?.finalised
 */
export async function readWavInfo(path: string): Promise<WavInfo | null> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    const head = Buffer.alloc(Math.min(size, 4096));
    await fh.read(head, 0, head.length, 0);
    if (head.length < 12 || head.toString('latin1', 0, 4) !== 'RIFF' || head.toString('latin1', 8, 12) !== 'WAVE') return null;
    const riffSize = head.readUInt32LE(4);
    let sampleRate: number | null = null;
    let channels: number | null = null;
    let bitsPerSample: number | null = null;
    let blockAlign: number | null = null;
    let dataBytes: number | null = null;
    let off = 12;
    while (off + 8 <= head.length) {
      const id = head.toString('latin1', off, off + 4);
      const len = head.readUInt32LE(off + 4);
      const body = off + 8;
      if (id === 'fmt ' && body + 16 <= head.length) {
        channels = head.readUInt16LE(body + 2);
        sampleRate = head.readUInt32LE(body + 4);
        blockAlign = head.readUInt16LE(body + 12);
        bitsPerSample = head.readUInt16LE(body + 14);
      } else if (id === 'data') {
        // The data size in an unfinalised header is stale; what is on disk is what there is.
        dataBytes = Math.max(0, size - body);
        break;
      }
      off = body + len + (len % 2);
    }
    const durationSeconds =
      dataBytes !== null && sampleRate && blockAlign ? Math.floor(dataBytes / blockAlign) / sampleRate : null;
    return { fileSize: size, riffSize, finalised: riffSize === size - 8, sampleRate, channels, bitsPerSample, dataBytes, durationSeconds };
  } finally {
    await fh.close();
  }
}
