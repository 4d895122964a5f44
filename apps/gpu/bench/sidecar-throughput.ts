// Round-trip throughput through the real Python sidecar (fixture backend): items per second from
// `SidecarProcess.process()` call to validated results, against a baseline measured in the same
// run: one ffprobe per item, the obvious way to read a title tag that the header parsing replaces.
//
//   pnpm bench:sidecar [--json] [--items 20000] [--batch 100] [--files 16]
//
// With --json the last line is a JSON object with `itemsPerSecond`. Goal: >= 5,000 items/s.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { runMain } from '@audio/config';
import { createLogger } from '@audio/logger';
import { DEMO_POLICY_FILE, loadPolicy, SidecarProcess, type SidecarItem } from '../src/sidecar/index.js';

const GOAL_ITEMS_PER_SECOND = 5_000;
const run = promisify(execFile);

runMain(async () => {
  const { values } = parseArgs({
    options: {
      json: { type: 'boolean', default: false },
      items: { type: 'string', default: '20000' },
      batch: { type: 'string', default: '100' },
      files: { type: 'string', default: '16' },
    },
  });
  const totalItems = Number(values.items);
  const batchSize = Number(values.batch);
  const fileCount = Number(values.files);
  const say = (line: string) => process.stdout.write(`${line}\n`);

  const dir = await mkdtemp(path.join(tmpdir(), 'sidecar-bench-'));
  try {
    say(`making ${fileCount} Opus files with ffmpeg in ${dir}`);
    const files = await Promise.all(
      Array.from({ length: fileCount }, async (_, i) => {
        const file = path.join(dir, `clip-${i}.opus`);
        const title =
          i % 4 === 0 ? `clip ${i}: they plan to attack the depot` : `clip ${i}: a quiet afternoon`;
        await run('ffmpeg', [
          ...[
            '-v',
            'error',
            '-y',
            '-f',
            'lavfi',
            '-i',
            `sine=frequency=${220 + 20 * i}:duration=${5 + (i % 7)}`,
          ],
          ...['-c:a', 'libopus', '-b:a', '24k', '-metadata', `title=${title}`, file],
        ]);
        return file;
      }),
    );
    const policy = await loadPolicy(DEMO_POLICY_FILE);

    // Baseline: one ffprobe process per item.
    const probeCount = 40;
    const probeStart = performance.now();
    for (let i = 0; i < probeCount; i++) {
      await run('ffprobe', [
        '-v',
        'error',
        '-show_entries',
        'format=duration:stream_tags=title',
        '-of',
        'json',
        files[i % files.length]!,
      ]);
    }
    const baseline = probeCount / ((performance.now() - probeStart) / 1000);

    const sidecar = new SidecarProcess({
      backend: 'fixture',
      logger: createLogger({ name: 'bench', level: 'warn' }),
    });
    await sidecar.start();
    const batchMs: number[] = [];
    const runItems = async (count: number, prefix: string, record: boolean) => {
      const batches: SidecarItem[][] = [];
      for (let start = 0; start < count; start += batchSize) {
        batches.push(
          Array.from({ length: Math.min(batchSize, count - start) }, (_, i) => ({
            key: `${prefix}-${start + i}`,
            path: files[(start + i) % files.length]!,
          })),
        );
      }
      // A few requests outstanding at once, as the transcribe worker's concurrent jobs produce.
      let next = 0;
      const lane = async () => {
        while (next < batches.length) {
          const batch = batches[next++]!;
          const started = performance.now();
          const results = await sidecar.process(batch, policy);
          if (record) batchMs.push(performance.now() - started);
          const failed = results.find((r) => !r.ok);
          if (failed && !failed.ok) throw new Error(`item ${failed.key} failed: ${failed.error.message}`);
        }
      };
      await Promise.all([lane(), lane(), lane()]);
    };

    await runItems(Math.min(2_000, totalItems), 'warmup', false);
    const started = performance.now();
    await runItems(totalItems, 'item', true);
    const seconds = (performance.now() - started) / 1000;
    await sidecar.stop();

    const itemsPerSecond = totalItems / seconds;
    batchMs.sort((a, b) => a - b);
    const p50 = batchMs[Math.floor(batchMs.length / 2)] ?? 0;
    const p95 = batchMs[Math.floor(batchMs.length * 0.95)] ?? 0;
    say(`baseline, one ffprobe per item:   ${baseline.toFixed(0)} items/s`);
    say(
      `sidecar round trip (fixture):     ${itemsPerSecond.toFixed(0)} items/s ` +
        `(${totalItems} items, batches of ${batchSize}, ${seconds.toFixed(2)} s; batch p50 ${p50.toFixed(1)} ms, p95 ${p95.toFixed(1)} ms)`,
    );
    say(`ratio vs baseline:                ${(itemsPerSecond / baseline).toFixed(1)}x`);
    say(
      `goal ${GOAL_ITEMS_PER_SECOND} items/s:                ${itemsPerSecond >= GOAL_ITEMS_PER_SECOND ? 'met' : 'NOT met'} ` +
        `(${(itemsPerSecond / GOAL_ITEMS_PER_SECOND).toFixed(2)}x of goal)`,
    );
    if (values.json) {
      say(
        JSON.stringify({
          itemsPerSecond: Math.round(itemsPerSecond),
          baselineFfprobeItemsPerSecond: Math.round(baseline),
          ratioVsBaseline: Number((itemsPerSecond / baseline).toFixed(2)),
          goalItemsPerSecond: GOAL_ITEMS_PER_SECOND,
          meetsGoal: itemsPerSecond >= GOAL_ITEMS_PER_SECOND,
          items: totalItems,
          batchSize,
          batchP50Ms: Number(p50.toFixed(2)),
          batchP95Ms: Number(p95.toFixed(2)),
        }),
      );
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
