// The replay lives in @audio/runtime, so that the dashboard's "Replay batch" and "Retry failed files"
// buttons run the very same code as `pnpm transfer replay`.
export {
  replayBatch,
  ReplayError,
  type ReplayDeps,
  type ReplayOptions,
  type ReplayResult,
} from '@audio/runtime';
