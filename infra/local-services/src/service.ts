/** A server this tool started (as opposed to one it found already answering). */
export interface StartedService {
  name: 'redis' | 'postgres' | 's3';
  url: string;
  /** Processes to signal when the service is stopped from another process (`services down`). */
  pids: number[];
  detail: string;
  /** In-process stop, when the starting process is also the one stopping it. */
  stop?: () => Promise<void>;
}
