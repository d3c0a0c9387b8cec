/** Stable error codes the media plane reports (a subset of the project's codes, see DESIGN.md §5). */
export type SfuErrorCode = 'CAPACITY_FULL' | 'STREAM_NOT_LIVE' | 'BAD_REQUEST' | 'INTERNAL';

/** Base class of every error the sfu package throws on purpose. */
export class SfuError extends Error {
  constructor(
    readonly code: SfuErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Every worker is at its consumer budget: the viewer should be sent to HLS. */
export class CapacityFullError extends SfuError {
  constructor(message = 'WebRTC capacity is full') {
    super('CAPACITY_FULL', message);
  }
}

/** The room (stream) is closed or was never opened. */
export class RoomClosedError extends SfuError {
  constructor(streamId: string) {
    super('STREAM_NOT_LIVE', `stream ${streamId} has no open media room`);
  }
}

/** A request referenced an unknown transport, viewer or producer, or had unusable parameters. */
export class SfuBadRequestError extends SfuError {
  constructor(message: string, options?: ErrorOptions) {
    super('BAD_REQUEST', message, options);
  }
}

/** The Sfu (or one of its parts) was closed while work was pending. */
export class SfuClosedError extends SfuError {
  constructor(what = 'sfu') {
    super('INTERNAL', `${what} is closed`);
  }
}
