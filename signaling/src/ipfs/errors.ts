/** Stable codes of every failure the IPFS layer reports. */
export const IPFS_ERROR_CODES = [
  'IPFS_CLOSED',
  'IPFS_INVALID_CID',
  'IPFS_INVALID_JSON',
  'IPFS_NOT_FOUND',
  'IPFS_NOT_A_FILE',
  'IPFS_TOO_LARGE',
  'IPFS_TIMEOUT',
  'IPFS_ABORTED',
  'IPFS_UNAVAILABLE',
] as const;

/** One of the stable IPFS error codes. */
export type IpfsErrorCode = (typeof IPFS_ERROR_CODES)[number];

/** A failure of a pinner operation, identified by a stable code. */
export class IpfsError extends Error {
  override readonly name = 'IpfsError';

  constructor(
    readonly code: IpfsErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** True when `err` is an IpfsError, optionally with the given code. */
export function isIpfsError(err: unknown, code?: IpfsErrorCode): err is IpfsError {
  return err instanceof IpfsError && (code === undefined || err.code === code);
}
