import type { Header } from 'tar-stream';

/** Why unpack refuses an archive entry; each becomes a `processing_failures` row with this code. */
export type RefusalCode =
  | 'absolute_path'
  | 'path_traversal'
  | 'invalid_name'
  | 'symlink'
  | 'hardlink'
  | 'device'
  | 'not_regular_file'
  | 'empty_file'
  | 'too_large'
  | 'not_mp3'
  | 'quota_exceeded'
  | 'too_many_entries';

export type EntryVerdict =
  | { accept: true }
  | { accept: false; skip: true }
  | { accept: false; skip?: false; code: RefusalCode; message: string };

/**
 * Judges an entry by its header alone (before any byte is written). Directories are skipped silently:
 * they create nothing, since files are stored under names of our own.
 */
export function judgeEntryHeader(header: Header, limits: { maxEntryBytes: number }): EntryVerdict {
  const name = header.name;
  if (name.includes('\0') || name.length === 0)
    return refuse('invalid_name', 'the entry name is empty or holds a NUL byte');
  if (name.startsWith('/') || /^[a-zA-Z]:[\\/]/.test(name))
    return refuse('absolute_path', 'absolute paths are not allowed');
  if (name.split(/[\\/]+/).includes('..'))
    return refuse('path_traversal', '".." would leave the archive\'s directory');
  switch (header.type) {
    case 'directory':
      return { accept: false, skip: true };
    case 'symlink':
      return refuse('symlink', `symbolic link to ${JSON.stringify(header.linkname ?? '')}`);
    case 'link':
      return refuse('hardlink', `hard link to ${JSON.stringify(header.linkname ?? '')}`);
    case 'character-device':
    case 'block-device':
      return refuse('device', `${header.type} ${header.devmajor ?? '?'}:${header.devminor ?? '?'}`);
    case 'file':
    case 'contiguous-file':
    case undefined:
    case null:
      break;
    default:
      return refuse('not_regular_file', `entry of type ${header.type}`);
  }
  const size = header.size ?? 0;
  if (size === 0) return refuse('empty_file', 'zero bytes');
  if (size > limits.maxEntryBytes) {
    return refuse('too_large', `${size} bytes is over the ${limits.maxEntryBytes}-byte limit per file`);
  }
  return { accept: true };
}

function refuse(code: RefusalCode, message: string): EntryVerdict {
  return { accept: false, code, message };
}
