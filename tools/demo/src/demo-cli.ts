// `pnpm demo [ARCHIVE.tar ...] [--json]`: the whole pipeline in one process on embedded defaults.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { ConfigError } from '@audio/config';
import { makeSampleArchive } from '@audio/fixtures';
import { createLogger } from '@audio/logger';
import { prepareDemoEnvironment } from './demo-environment.js';
import { InProcessPipeline, type BatchSummary } from './in-process-pipeline.js';
import { formatSummary, summaryJson } from './summary-report.js';

const program = new Command('demo')
  .description(
    'Runs archives through transfer → unpack → gpu → finalize in one process. With no archive, makes a ' +
      'sample one: 8 spoken English MP3s (2 flagged by the demo policy), a corrupt MP3 and a non-audio file.',
  )
  .argument('[archives...]', 'tar archives of MP3s')
  .option('--json', 'print one JSON object as the last line of stdout')
  .option('--timeout <seconds>', 'give up waiting for the batches after this long', '600')
  .action(async (archives: string[], options: { json?: boolean; timeout: string }) => {
    // Logs go to stderr; stdout carries the summary (and the JSON line) only. The summary lists every
    // failed file already, so only errors are logged unless LOG_LEVEL asks for more.
    const logger = createLogger({ name: 'demo', level: process.env.LOG_LEVEL ?? 'error' });
    const say = (line: string) => process.stderr.write(`${line}\n`);
    for (const archive of archives) {
      if (!fs.existsSync(archive)) throw new Error(`archive ${archive} does not exist`);
    }
    const environment = await prepareDemoEnvironment({ log: say, purpose: 'demo' });
    let pipeline: InProcessPipeline | undefined;
    let workDir: string | undefined;
    try {
      if (archives.length === 0) {
        workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'audio-demo-'));
        const sample = path.join(workDir, 'sample-calls.tar');
        say('making a sample archive with espeak-ng and ffmpeg');
        await makeSampleArchive(sample);
        archives = [sample];
      }
      pipeline = await InProcessPipeline.start(environment.env, logger);
      say(
        `pipeline running on host ${pipeline.hostId}, queues ${environment.env.QUEUE_PREFIX ?? '{audio}'} ` +
          `(sidecar backend: ${environment.env.SIDECAR_BACKEND})`,
      );
      const batches: { batchId: string; archive: string }[] = [];
      for (const archive of archives) {
        const batchId = await pipeline.ingest(archive);
        say(`ingested ${archive} as batch ${batchId}`);
        batches.push({ batchId, archive });
      }
      await pipeline.waitForBatches(
        batches.map((b) => b.batchId),
        Number(options.timeout) * 1000,
      );
      const summaries: BatchSummary[] = [];
      for (const b of batches) summaries.push(await pipeline.summarize(b.batchId, path.basename(b.archive)));
      process.stdout.write(formatSummary(summaries, pipeline.bucket));
      if (options.json) process.stdout.write(`${summaryJson(summaries)}\n`);
    } finally {
      await pipeline?.close();
      await environment.close();
      if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
    }
  });

program.parseAsync().then(
  () => process.exit(0),
  (error: unknown) => {
    const message =
      error instanceof ConfigError
        ? `configuration error: ${error.message}`
        : String(error instanceof Error ? error.stack : error);
    process.stderr.write(`demo could not run: ${message}\n`);
    process.exit(1);
  },
);
