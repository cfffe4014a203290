import { accessSync, constants, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, dirname, join } from 'node:path';

export interface FfmpegTools {
  ffmpeg: string;
  ffprobe: string;
  /** Where ffmpeg was found, for the start-up log. */
  source: 'config' | 'ffmpeg-static' | 'path';
}

export interface LocateFfmpegDeps {
  /** PATH to search. Default process.env.PATH (read here, not in config: it is the process's own lookup path). */
  pathEnv?: string;
  /** Resolves the ffmpeg-static binary, or null. Default: the package's export when installed. */
  ffmpegStatic?: () => string | null;
}

/**
 * `ffmpeg-static` is deliberately NOT in package.json, not even in optionalDependencies. Checked with
 * npm 11.19 and a clean `npm ci` of this lockfile plus ffmpeg-static@5.3.0 as optional: npm runs its
 * install script although it is not listed under "allowScripts" (npm only warns at `npm install`),
 * the script's download of the binary fails here (host not reachable), and npm then drops the package
 * and its download helpers: exit code 0 (151 packages, as without it), but an error printed and an
 * outbound download attempted at every install, which on a network that drops rather than refuses
 * would stall installs. It would never be usable here, so it stays out of the lockfile. We resolve it
 * dynamically instead: an operator who wants it runs `npm install ffmpeg-static` where the binary can
 * be fetched, and it is used only when its binary file really exists.
 */
function ffmpegStaticBinary(): string | null {
  try {
    const require = createRequire(import.meta.url);
    const p: unknown = require('ffmpeg-static');
    return typeof p === 'string' ? p : null;
  } catch {
    return null;
  }
}

function isExecutable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name: string, pathEnv: string): string | null {
  for (const dir of pathEnv.split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    if (isExecutable(p)) return p;
  }
  return null;
}

/**
 * Finds ffmpeg and ffprobe: the configured FFMPEG_PATH, else ffmpeg-static's binary when the package
 * is installed and its binary exists, else `ffmpeg` on the PATH. ffprobe is taken next to ffmpeg when
 * there is one, else from the PATH. Never throws: a binary that cannot be found is returned by bare
 * name, and running it fails with a coded error naming it.
 *
 * @example locateFfmpeg(config.recordings.ffmpegPath) // { ffmpeg: '/usr/bin/ffmpeg', ffprobe: '/usr/bin/ffprobe', source: 'path' }
 */
export function locateFfmpeg(ffmpegPath: string | null, deps: LocateFfmpegDeps = {}): FfmpegTools {
  const pathEnv = deps.pathEnv ?? process.env.PATH ?? '';
  let ffmpeg: string;
  let source: FfmpegTools['source'];
  const staticBin = ffmpegPath ? null : (deps.ffmpegStatic ?? ffmpegStaticBinary)();
  if (ffmpegPath) {
    ffmpeg = ffmpegPath;
    source = 'config';
  } else if (staticBin && existsSync(staticBin)) {
    ffmpeg = staticBin;
    source = 'ffmpeg-static';
  } else {
    ffmpeg = onPath('ffmpeg', pathEnv) ?? 'ffmpeg';
    source = 'path';
  }
  const sibling = ffmpeg.includes('/') ? join(dirname(ffmpeg), 'ffprobe') : null;
  const ffprobe = sibling && isExecutable(sibling) ? sibling : (onPath('ffprobe', pathEnv) ?? 'ffprobe');
  return { ffmpeg, ffprobe, source };
}
