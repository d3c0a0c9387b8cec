import { hexToU8a, isHex, stringToU8a, u8aToHex } from '@polkadot/util';
import { ed25519Verify } from '@polkadot/util-crypto';
import { ProtocolId } from '../events/remark.ts';
import { type SessionKey, signWithSessionKey } from './sessionKey.ts';
import { GenesisHash } from './voucher.ts';

/** What a join proof binds: the session key's holder asks to watch `streamId` as `sessionId` on this socket. */
export interface JoinProof {
  genesisHash: string;
  streamId: string;
  sessionId: string;
  /** The Socket.IO socket id the join is sent on: a proof seen elsewhere is useless on any other socket. */
  socketId: string;
}

const SOCKET_ID_RE = /^[A-Za-z0-9_-]{1,64}$/;

/** `ps1:join:<genesisHash>:<streamId>:<sessionId>:<socketId>`: the message the session key signs at `viewer:join`. */
export function formatJoinProof(p: JoinProof): string {
  if (!SOCKET_ID_RE.test(p.socketId)) throw new Error('socket id out of range');
  return [
    'ps1:join',
    GenesisHash.parse(p.genesisHash),
    ProtocolId.parse(p.streamId),
    ProtocolId.parse(p.sessionId),
    p.socketId,
  ].join(':');
}

/** The session key's signature (hex) proving it holds the key for this join. */
export function signJoinProof(key: SessionKey, p: JoinProof): `0x${string}` {
  return u8aToHex(signWithSessionKey(key, formatJoinProof(p)));
}

/** Whether `signature` is the ed25519 public key `sessionKey`'s signature of the join proof `p`. */
export function verifyJoinProof(p: JoinProof, signature: string, sessionKey: string): boolean {
  if (!isHex(signature) || !isHex(sessionKey)) return false;
  const sig = hexToU8a(signature);
  const key = hexToU8a(sessionKey);
  if (sig.length !== 64 || key.length !== 32) return false;
  try {
    return ed25519Verify(stringToU8a(formatJoinProof(p)), sig, key);
  } catch {
    return false;
  }
}
