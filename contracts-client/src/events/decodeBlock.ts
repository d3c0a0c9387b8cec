import type { ApiPromise } from '@polkadot/api';
import type { EventRecord, SignedBlock } from '@polkadot/types/interfaces';
import { u8aToString } from '@polkadot/util';
import { decodeAddress, encodeAddress } from '@polkadot/util-crypto';
import { readBlock, readEvents } from '../chain/rawReads.ts';
import { type ProtocolRemark, parseRemark, sessionKindOf } from './remark.ts';
import type { Asset, ChainPosition, DecodedBlock, ProtocolEvent } from './types.ts';
import type { AccountView, CallView, EventRecordView, ExtrinsicView } from './views.ts';

const BALANCE_TRANSFERS = new Set(['transfer', 'transferKeepAlive', 'transferAll', 'transferAllowDeath']);
const ASSET_TRANSFERS = new Set(['transfer', 'transferKeepAlive']);

type Step =
  | { kind: 'transfer'; pallet: 'balances' | 'assets'; method: string }
  | { kind: 'remark'; remark: ProtocolRemark | undefined };

interface Transfer {
  eventIndex: number;
  asset: Asset;
  to: string;
  amount: bigint;
  method: string;
}

/** Flattens an extrinsic's call into protocol steps: `utility.batchAll([...])` or one bare remark; else undefined. */
function stepsOf(call: CallView): Step[] | undefined {
  const inner: ArrayLike<CallView> =
    call.section === 'utility' && call.method === 'batchAll' ? (call.args[0] as ArrayLike<CallView>) : [call];
  const steps: Step[] = [];
  for (const c of Array.from(inner)) {
    if (c.section === 'system' && c.method === 'remarkWithEvent') {
      // polkadot-js' Bytes is a Uint8Array of the content (no length prefix), as the views promise.
      steps.push({ kind: 'remark', remark: parseRemark(u8aToString(c.args[0] as Uint8Array)) });
    } else if (c.section === 'balances' && BALANCE_TRANSFERS.has(c.method)) {
      steps.push({ kind: 'transfer', pallet: 'balances', method: c.method });
    } else if (c.section === 'assets' && ASSET_TRANSFERS.has(c.method)) {
      steps.push({ kind: 'transfer', pallet: 'assets', method: c.method });
    }
  }
  return steps.some((s) => s.kind === 'remark' && s.remark) ? steps : undefined;
}

/** SS58 texts by (format, account codec bytes): the same accounts recur block after block, and base58 is what costs. */
const addressCache = new Map<string, string>();
const ADDRESS_CACHE_MAX = 10_000;

function formatAddress(who: AccountView, ss58: number): string {
  const key = `${ss58}:${who.toHex()}`;
  let address = addressCache.get(key);
  if (address === undefined) {
    if (addressCache.size >= ADDRESS_CACHE_MAX) addressCache.clear();
    address = encodeAddress(decodeAddress(who.toString()), ss58);
    addressCache.set(key, address);
  }
  return address;
}

/**
 * Decodes the protocol events of one block from its extrinsics and event records (pure: no chain access).
 * A remark labels the transfer calls that precede it in the batch (since the previous remark); amounts are those of
 * the Transfer/Transferred events the batch emitted, never the requested ones. Failed extrinsics yield nothing.
 */
export function decodeBlockData(block: SignedBlock, records: readonly EventRecord[], ss58: number): DecodedBlock {
  const header = block.block.header;
  return decodeBlockParts(
    { hash: header.hash.toHex(), number: header.number.toNumber(), parentHash: header.parentHash.toHex() },
    block.block.extrinsics.map((ex, index) => [index, ex] as const),
    records,
    ss58,
  );
}

/**
 * Like decodeBlockData, from the block's identity and the extrinsics that may carry protocol events, each with its
 * index in the block (and its hash when the caller has it from the raw bytes: the codec's re-encodes the extrinsic).
 * Only signed extrinsics with a `System.Remarked` event can: a reader that decodes the others lazily passes just
 * those (the result is the same).
 */
export function decodeBlockParts(
  block: { hash: string; number: number; parentHash: string },
  extrinsics: Iterable<readonly [number, ExtrinsicView, string?]>,
  records: readonly EventRecordView[],
  ss58: number,
): DecodedBlock {
  const { hash: blockHash, number: blockNumber, parentHash } = block;
  // MultiAddress/AccountId codecs print as SS58; re-encode in the requested format.
  const fmt = (who: AccountView): string => formatAddress(who, ss58);
  const out: ProtocolEvent[] = [];
  // Each extrinsic's event records with their index in the block, grouped once.
  const byExtrinsic = new Map<number, { record: EventRecordView; index: number }[]>();
  records.forEach((record, index) => {
    if (!record.phase.isApplyExtrinsic) return;
    const at = record.phase.asApplyExtrinsic.toNumber();
    const list = byExtrinsic.get(at);
    if (list) list.push({ record, index });
    else byExtrinsic.set(at, [{ record, index }]);
  });

  for (const [extrinsicIndex, ex, knownHash] of extrinsics) {
    if (!ex.isSigned) continue;
    const steps = stepsOf(ex.method);
    if (!steps) continue;
    const mine = byExtrinsic.get(extrinsicIndex) ?? [];
    if (!mine.some(({ record }) => record.event.section === 'system' && record.event.method === 'ExtrinsicSuccess'))
      continue;
    const signer = fmt(ex.signer);
    const extrinsicHash = knownHash ?? ex.hash.toHex();
    const remarked = mine.filter(
      ({ record }) => record.event.section === 'system' && record.event.method === 'Remarked',
    );
    const transfers = { balances: [] as Transfer[], assets: [] as Transfer[] };
    for (const { record, index } of mine) {
      const { section, method, data } = record.event;
      if (section === 'balances' && method === 'Transfer' && fmt(data[0] as never) === signer) {
        transfers.balances.push({
          eventIndex: index,
          asset: 'native',
          to: fmt(data[1] as never),
          amount: toBig(data[2]),
          method,
        });
      } else if (section === 'assets' && method === 'Transferred' && fmt(data[1] as never) === signer) {
        const asset = Number((data[0] as unknown as { toString(): string }).toString());
        transfers.assets.push({ eventIndex: index, asset, to: fmt(data[2] as never), amount: toBig(data[3]), method });
      }
    }
    const position = (eventIndex: number): ChainPosition => ({
      id: `${blockHash}:${extrinsicIndex}:${eventIndex}`,
      blockHash,
      blockNumber,
      parentHash,
      extrinsicIndex,
      eventIndex,
      extrinsicHash,
    });

    let group: (Transfer & { call: string })[] = [];
    let remarkNo = 0;
    for (const step of steps) {
      if (step.kind === 'transfer') {
        const t = transfers[step.pallet].shift();
        if (t) group.push({ ...t, call: step.method });
        continue;
      }
      const remarkEvent = remarked[remarkNo++];
      const remark = step.remark;
      if (remark && remarkEvent) out.push(...labelGroup(remark, group, signer, remarkEvent.index, position));
      group = [];
    }
  }
  return { hash: blockHash, number: blockNumber, parentHash, events: out };
}

function labelGroup(
  remark: ProtocolRemark,
  group: (Transfer & { call: string })[],
  signer: string,
  remarkEventIndex: number,
  position: (eventIndex: number) => ChainPosition,
): ProtocolEvent[] {
  switch (remark.kind) {
    case 'stream':
      return [
        {
          type: 'announcement',
          ...position(remarkEventIndex),
          streamId: remark.streamId,
          metadataCid: remark.metadataCid,
          creator: signer,
        },
      ];
    case 'fund':
      return group.map((t) => ({
        type: 'funding',
        ...position(t.eventIndex),
        sessionId: remark.sessionId,
        wallet: signer,
        sessionAccount: t.to,
        asset: t.asset,
        amount: t.amount,
      }));
    // A live session pays with `ps1:pay`, a replay session with `ps1:replay`: the settlement says which.
    case 'pay':
    case 'replay':
      return group.map((t) =>
        t.call === 'transferAll'
          ? refund(remark.sessionId, t, signer, position)
          : {
              type: 'settlement',
              ...position(t.eventIndex),
              sessionKind: sessionKindOf(remark.kind),
              streamId: remark.streamId,
              sessionId: remark.sessionId,
              seq: remark.seq,
              payer: signer,
              creator: t.to,
              asset: t.asset,
              amount: t.amount,
            },
      );
    case 'refund':
      return group.map((t) => refund(remark.sessionId, t, signer, position));
    case 'tip':
      return tip(remark, group, signer, position);
  }
}

/**
 * A tip is exactly one transfer of a positive amount, then its remark: several transfers under one tip remark would
 * make one chat message carry several amounts. (A transfer to oneself emits no Transfer event, so it labels nothing.)
 */
function tip(
  remark: Extract<ProtocolRemark, { kind: 'tip' }>,
  group: Transfer[],
  signer: string,
  position: (eventIndex: number) => ChainPosition,
): ProtocolEvent[] {
  const [t] = group;
  if (!t || group.length !== 1 || t.amount <= 0n) return [];
  return [
    {
      type: 'tip',
      ...position(t.eventIndex),
      streamId: remark.streamId,
      messageId: remark.messageId,
      from: signer,
      creator: t.to,
      asset: t.asset,
      amount: t.amount,
    },
  ];
}

function refund(
  sessionId: string,
  t: Transfer,
  signer: string,
  position: (eventIndex: number) => ChainPosition,
): ProtocolEvent {
  return {
    type: 'refund',
    ...position(t.eventIndex),
    sessionId,
    sessionAccount: signer,
    wallet: t.to,
    asset: t.asset,
    amount: t.amount,
  };
}

function toBig(codec: unknown): bigint {
  return BigInt((codec as { toString(): string }).toString());
}

/** Fetches one block and its events and decodes its protocol events; addresses use `ss58` (default: the chain's). */
export async function decodeBlock(api: ApiPromise, blockHash: string, ss58?: number): Promise<ProtocolEvent[]> {
  return (await fetchDecodedBlock(api, blockHash, ss58)).events;
}

/** Like decodeBlock, with the block's number and parent hash. */
export async function fetchDecodedBlock(api: ApiPromise, blockHash: string, ss58?: number): Promise<DecodedBlock> {
  const [block, records] = await Promise.all([readBlock(api, blockHash), readEvents(api, blockHash)]);
  const decoded = decodeBlockData(block, records, ss58 ?? api.registry.chainSS58 ?? 42);
  // The node's hash is authoritative (chopsticks' synthetic genesis header does not hash to it).
  if (decoded.hash === blockHash) return decoded;
  const events = decoded.events.map((e) => ({
    ...e,
    blockHash,
    id: `${blockHash}:${e.extrinsicIndex}:${e.eventIndex}`,
  }));
  return { ...decoded, hash: blockHash, events };
}
