import { SfuError } from '@persecond/sfu';
import { SignalingError } from './errors.ts';

/** Media-plane refusals as the stable codes clients see; anything else passes through. */
export function fromSfu(err: unknown): unknown {
  if (!(err instanceof SfuError)) return err;
  return new SignalingError(err.code, err.message);
}

/** Runs an SFU call, turning its coded errors into signaling errors. */
export async function sfuCall<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw fromSfu(err);
  }
}
