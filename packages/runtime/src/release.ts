import fs from 'node:fs';
import path from 'node:path';

/**
 * The release this process runs, for its heartbeat: `PIPELINE_RELEASE` when set, else the `VERSION`
 * file of the release the entry script belongs to (a built release holds `VERSION` and `release.json`
 * at its root, the app's entry at `apps/{app}/dist/main.js`). Nothing in a checkout.
 */
export function releaseOf(env: NodeJS.ProcessEnv, entry = process.argv[1]): { release?: string } {
  const set = env.PIPELINE_RELEASE?.trim();
  if (set) return { release: set };
  if (!entry) return {};
  let dir = path.dirname(path.resolve(entry));
  for (let up = 0; up < 5; up += 1) {
    const version = path.join(dir, 'VERSION');
    if (fs.existsSync(version) && fs.existsSync(path.join(dir, 'release.json'))) {
      const release = fs.readFileSync(version, 'utf8').trim();
      return release ? { release } : {};
    }
    dir = path.dirname(dir);
  }
  return {};
}
