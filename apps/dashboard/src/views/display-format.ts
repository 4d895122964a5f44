// How numbers and times read on the dashboard's pages: bytes in binary units, durations in the
// largest sensible unit, timestamps in UTC (the operators' logs are in UTC too).

export function formatBytes(bytes: number | bigint | null | undefined): string {
  if (bytes === null || bytes === undefined) return '–';
  let value = Number(bytes);
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`;
  return `${(seconds / 86_400).toFixed(1)} d`;
}

/** `2025-06-22 14:30:52 UTC` */
export function formatTime(date: Date | string | number | null | undefined): string {
  if (date === null || date === undefined) return '–';
  const d = new Date(date);
  if (Number.isNaN(d.getTime())) return '–';
  return `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** Milliseconds between two times, or null when either is missing. */
export function between(
  from: Date | number | null | undefined,
  to: Date | number | null | undefined,
): number | null {
  if (from === null || from === undefined || to === null || to === undefined) return null;
  return new Date(to).getTime() - new Date(from).getTime();
}
