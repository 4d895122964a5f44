/** Input a repository refused before touching the database; the message names the field and the reason. */
export class DbInputError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'DbInputError';
  }
}

export class BatchNotFoundError extends Error {
  constructor(readonly batchId: string) {
    super(`batch ${batchId} does not exist`);
    this.name = 'BatchNotFoundError';
  }
}

/** A batch asked to move to a status its current status does not lead to. */
export class BatchStateError extends Error {
  constructor(
    readonly batchId: string,
    readonly status: string,
    readonly action: string,
  ) {
    super(`batch ${batchId} is ${status}; cannot ${action}`);
    this.name = 'BatchStateError';
  }
}

/**
 * The same key (batch id, or batch + filename) arrived again with different content: a replay must
 * carry the same archive, so this is a bug upstream or a corrupt source, never overwritten silently.
 */
export class ConflictingRecordError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConflictingRecordError';
  }
}

export class AudioFileNotFoundError extends Error {
  constructor(readonly audioFileId: string) {
    super(`audio file ${audioFileId} does not exist`);
    this.name = 'AudioFileNotFoundError';
  }
}

export class UsernameTakenError extends Error {
  constructor(readonly username: string) {
    super(`username ${JSON.stringify(username)} is already taken`);
    this.name = 'UsernameTakenError';
  }
}

export class PolicyNotFoundError extends Error {
  constructor(readonly reference: string) {
    super(
      `no policy version ${reference} is stored (pnpm policy list shows them; pnpm policy add FILE stores one)`,
    );
    this.name = 'PolicyNotFoundError';
  }
}
