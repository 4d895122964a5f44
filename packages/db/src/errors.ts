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

/**
 * A review action (label, skip) on a file the reviewer holds no running lease on: the lease expired and
 * went back to the queue (maybe to another reviewer), or the reviewer never held it.
 */
export class LeaseNotHeldError extends Error {
  constructor(
    readonly audioFileId: string,
    readonly reviewerId: string,
  ) {
    super(`reviewer ${reviewerId} does not hold a running lease on audio file ${audioFileId}`);
    this.name = 'LeaseNotHeldError';
  }
}

/** An undo asked for when there is nothing to undo: no submission, or its lease has run out. */
export class NothingToUndoError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'NothingToUndoError';
  }
}

export class UploadClientExistsError extends Error {
  constructor(readonly clientName: string) {
    super(`an upload client named ${JSON.stringify(clientName)} exists already (revoked names stay taken)`);
    this.name = 'UploadClientExistsError';
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
