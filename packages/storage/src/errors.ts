// The errors this package throws on purpose. Each names the input and the reason in its message.

/** An object key, key segment, prefix or batch id that must not reach S3 or a file path. */
export class InvalidKeyError extends Error {
  constructor(
    readonly value: unknown,
    reason: string,
  ) {
    super(`invalid storage key ${JSON.stringify(value)}: ${reason}`);
    this.name = 'InvalidKeyError';
  }
}

/** A scratch path that would leave its batch directory ('..', absolute, or through a symlink). */
export class ScratchEscapeError extends Error {
  constructor(
    readonly batchId: string,
    readonly relativePath: string,
    reason: string,
  ) {
    super(`scratch path ${JSON.stringify(relativePath)} of batch ${batchId} refused: ${reason}`);
    this.name = 'ScratchEscapeError';
  }
}

/** Not enough free space under the scratch root for the work about to start. */
export class InsufficientScratchError extends Error {
  constructor(
    readonly root: string,
    readonly neededBytes: number,
    readonly freeBytes: number,
    readonly minFreeBytes: number,
  ) {
    super(
      `not enough scratch space under ${root}: ${formatBytes(neededBytes)} needed plus ` +
        `${formatBytes(minFreeBytes)} kept free, but only ${formatBytes(freeBytes)} free`,
    );
    this.name = 'InsufficientScratchError';
  }
}

/** Downloaded bytes whose sha256 (or size) differs from what the object's metadata promised. */
export class ChecksumMismatchError extends Error {
  constructor(
    readonly key: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`checksum mismatch for ${key}: expected ${expected}, got ${actual}`);
    this.name = 'ChecksumMismatchError';
  }
}

/** An object that a verified download cannot verify: it carries no sha256 metadata. */
export class MissingChecksumError extends Error {
  constructor(readonly key: string) {
    super(
      `object ${key} has no sha256 metadata to verify against (pass expectedSha256 or requireChecksum: false)`,
    );
    this.name = 'MissingChecksumError';
  }
}

/** A create-only write of a key that exists already (the server refused it, or a check found it). */
export class ObjectExistsError extends Error {
  constructor(
    readonly key: string,
    reason = 'it exists already',
  ) {
    super(`refused to write ${key}: ${reason}`);
    this.name = 'ObjectExistsError';
  }
}

/** A local file that changed (size, mtime or content) while it was being uploaded. */
export class SourceChangedError extends Error {
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`${path} changed during upload: ${reason}`);
    this.name = 'SourceChangedError';
  }
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}
