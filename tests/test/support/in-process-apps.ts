import { startGpuApp, type GpuApp } from '@audio/gpu';
import { createLogger } from '@audio/logger';
import { openTransferContext, type TransferContext } from '@audio/transfer';
import { startUnpackApp, type UnpackApp } from '@audio/unpack';
import type { PipelineTestEnv } from './pipeline-env.js';

export interface InProcessApps {
  transfer: TransferContext;
  unpack: UnpackApp;
  gpu: GpuApp;
  ingest(archivePath: string, source?: string): Promise<string>;
  close(): Promise<void>;
}

/** transfer + unpack + gpu of one host in the test process (the multi-process cases spawn their own). */
export async function startInProcessApps(
  t: PipelineTestEnv,
  which: { unpack?: boolean; gpu?: boolean } = {},
): Promise<InProcessApps> {
  const logger = createLogger({ name: 'test', pretty: false, level: t.env.LOG_LEVEL });
  const gpu = which.gpu === false ? undefined : await startGpuApp({ env: t.env, logger });
  const unpack = which.unpack === false ? undefined : await startUnpackApp({ env: t.env, logger });
  const transfer = await openTransferContext({ env: t.env, logger });
  return {
    transfer,
    unpack: unpack!,
    gpu: gpu!,
    async ingest(archivePath, source = 'test') {
      return (await transfer.ingester.ingest(archivePath, { source })).batchId;
    },
    async close() {
      await unpack?.close();
      await gpu?.close();
      await transfer.close();
    },
  };
}
