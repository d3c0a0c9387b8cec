// Tipped chat messages on the real parts: a viewer declares a tip (chat:tip), signs buildTip on the dev chain with
// the message's id, and the room sees the message once the transfer is in a block, with the chain's amount, then
// final; the creator's stream:stats carry the stream's tips. Tips by other wallets or to other recipients are ignored.
// A final step the database refuses once is written on a later try.
import { buildTip } from '@persecond/contracts-client';
import type { KeyringPair } from '@polkadot/keyring/types';
import { sql } from 'drizzle-orm';
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ChatModule } from '../../src/chat/ChatModule.ts';
import { type LedgerModule, ledgerModuleOf } from '../../src/ledger/ledgerModule.ts';
import { rowsOf } from '../../src/ledger/rows.ts';
import type { ChatMessage, ChatTipUpdate, StreamStats } from '../../src/protocol.ts';
import type { LiveStream } from '../support/liveStream.ts';
import { type AckJson, call, callOk } from '../viewers-support.ts';
import { anonymousOn, chatOf, Reader, startChatStream } from './support.ts';

// Chain inclusion and finality on a loaded machine: generous.
const WAIT = { timeout: 60_000, interval: 50 };
const TIP_MAX = 10n ** 15n;

/** A reader that also records `chat:tip`. */
class TipReader extends Reader {
  readonly tips: ChatTipUpdate[] = [];

  constructor(socket: Socket) {
    super(socket);
    socket.on('chat:tip', (t: ChatTipUpdate) => this.tips.push(t));
  }

  /** The tip updates of one message, in arrival order. */
  tipsOf(messageId: string): ChatTipUpdate[] {
    return this.tips.filter((t) => t.messageId === messageId);
  }
}

describe('chat tips: a tipped message shows once its transfer is on chain, with the chain’s amount', () => {
  let live: LiveStream;
  let w: LiveStream['wallets'];
  let chat: ChatModule;
  let streamId: string;
  let creator: TipReader;
  let anonymous: TipReader;
  let watcher: TipReader;
  const stats: StreamStats[] = [];

  const reader = async (pair?: KeyringPair): Promise<TipReader> => {
    const r = new TipReader(pair ? await live.open(pair) : await anonymousOn(live));
    await r.join(streamId);
    return r;
  };
  /** Declares a tip, failing unless it is stored; the message as answered to its sender. */
  const declare = async (r: Reader, text: string, amount: bigint): Promise<ChatMessage> => {
    const res = await call(r.socket, 'chat:tip', { streamId, text, asset: 'native', amount: amount.toString() });
    if (!res.ok) throw new Error(`chat:tip refused: ${res.code} ${res.message}`);
    return res.message as unknown as ChatMessage;
  };
  /** Signs buildTip naming `messageId` and waits for inclusion; the amount of the block's Transfer event. */
  const signTip = async (
    signer: KeyringPair,
    messageId: string,
    amount: bigint,
    creatorAddress = w.alice.address,
  ): Promise<bigint> => {
    const tx = buildTip(live.client, { streamId, messageId, creator: creatorAddress, asset: 'native', amount });
    const res = await live.submitter.submit(tx, signer);
    if (!res.ok) throw new Error(`tip failed: ${res.status}`);
    const records = await (await live.client.api.at(res.blockHash)).query.system.events();
    const transfer = records.find(
      (r) =>
        r.phase.isApplyExtrinsic &&
        r.phase.asApplyExtrinsic.toNumber() === res.extrinsicIndex &&
        r.event.section === 'balances' &&
        r.event.method === 'Transfer',
    );
    if (!transfer) throw new Error('no Transfer event in the tip’s extrinsic');
    return BigInt(transfer.event.data[2]?.toString() ?? '0');
  };
  const history = async (r: Reader): Promise<ChatMessage[]> =>
    (await callOk(r.socket, 'chat:history', { streamId })).messages as unknown as ChatMessage[];
  /** The node's signaling_chat_tips_total{status}, as scraped. */
  const tipsCounted = async (status: 'pending' | 'final'): Promise<number> => {
    const text = await (await fetch(`${live.server.url}/metrics`)).text();
    const line = new RegExp(`^signaling_chat_tips_total\\{status="${status}"\\} (\\d+)$`, 'm').exec(text);
    return Number(line?.[1] ?? 0);
  };

  beforeAll(async () => {
    live = await startChatStream({
      chatEnv: {
        CHAT_SOCKET_RATE_LIMIT_MAX: '1000',
        CHAT_TIP_MAX: TIP_MAX.toString(),
        CHAT_TIP_RATE_LIMIT_MAX: '3',
      },
    });
    w = live.wallets;
    chat = chatOf(live.server.modules);
    streamId = await live.announceStream(w.alice, 'Tipped show', 1_000_000n);
    creator = await reader(w.alice);
    creator.socket.on('stream:stats', (s: StreamStats) => stats.push(s));
    await callOk(creator.socket, 'stream:goLive', { streamId });
    await live.publish(creator.socket, streamId);
    anonymous = await reader();
    watcher = await reader(w.charlie);
  }, 180_000);

  afterAll(async () => {
    await live?.close();
  });

  it('answers the tip unsigned to its sender only, then shows it pending and final with the chain’s amount', async () => {
    const bob = await reader(w.bob);
    const declared = 5_000_000_000n;
    const message = await declare(bob, 'Great stream!', declared);
    expect(message).toMatchObject({
      sender: w.bob.address,
      text: 'Great stream!',
      tip: { asset: 'native', amount: declared.toString(), status: 'unsigned' },
    });
    expect((await history(anonymous)).map((m) => m.id)).not.toContain(message.id);
    // The creator's numbers before any tip: the node holds the stream's tip totals from here on.
    await vi.waitFor(() => expect(stats.at(-1)?.tips).toEqual({ pending: '0', final: '0' }), WAIT);

    // The wallet signs another amount than it declared: the chain's is the one shown.
    const paid = await signTip(w.bob, message.id, 7_000_000_000n);
    expect(paid).toBe(7_000_000_000n);
    for (const r of [anonymous, watcher, creator, bob]) {
      await vi.waitFor(() => {
        expect(r.received([message.id])).toEqual([
          { ...message, tip: { asset: 'native', amount: paid.toString(), status: 'pending' } },
        ]);
        expect(r.tipsOf(message.id)).toEqual([
          { streamId, messageId: message.id, asset: 'native', amount: paid.toString(), status: 'pending' },
          { streamId, messageId: message.id, asset: 'native', amount: paid.toString(), status: 'final' },
        ]);
      }, WAIT);
    }
    const shown = (await history(anonymous)).find((m) => m.id === message.id);
    expect(shown?.tip).toEqual({ asset: 'native', amount: paid.toString(), status: 'final' });
    expect(await chat.tips.totals(streamId)).toEqual({ pending: 0n, final: paid });
    // The creator's live numbers carry the stream's tips.
    await vi.waitFor(() => expect(stats.at(-1)?.tips).toEqual({ pending: '0', final: paid.toString() }), WAIT);
  });

  it('ignores a tip naming the message from another wallet or to another recipient, and counts a tip once', async () => {
    const dave = await reader(w.dave);
    const message = await declare(dave, 'From Dave', 1_000_000_000n);
    const before = (await chat.tips.totals(streamId)).final;

    // Charlie pays the creator naming Dave's message; Dave pays Charlie instead of the creator: neither counts.
    await signTip(w.charlie, message.id, 2_000_000_000n);
    await signTip(w.dave, message.id, 3_000_000_000n, w.charlie.address);
    // Dave's own tip, after both in chain order: the watcher has passed them once this one shows.
    const paid = await signTip(w.dave, message.id, 4_000_000_000n);
    await vi.waitFor(
      () => expect(anonymous.tipsOf(message.id).map((t) => t.status)).toEqual(['pending', 'final']),
      WAIT,
    );
    expect(anonymous.received([message.id])).toEqual([
      { ...message, tip: { asset: 'native', amount: paid.toString(), status: 'pending' } },
    ]);
    expect(anonymous.tipsOf(message.id).every((t) => t.amount === paid.toString())).toBe(true);

    // Dave tips the same message again: it is final already, nothing changes.
    await signTip(w.dave, message.id, 5_000_000_000n);
    const marker = await declare(dave, 'Marker', 1_000_000_000n);
    await signTip(w.dave, marker.id, 1_000_000_000n);
    await vi.waitFor(
      () => expect(anonymous.tipsOf(marker.id).map((t) => t.status)).toEqual(['pending', 'final']),
      WAIT,
    );
    expect(anonymous.tipsOf(message.id)).toHaveLength(2);
    expect(anonymous.received([message.id])).toHaveLength(1);
    expect((await chat.tips.totals(streamId)).final).toBe(before + paid + 1_000_000_000n);
    // The numbers the node holds followed each step: the ignored tips added nothing.
    await vi.waitFor(
      () => expect(stats.at(-1)?.tips).toEqual({ pending: '0', final: (before + paid + 1_000_000_000n).toString() }),
      WAIT,
    );
  });

  it('writes a final step that failed once on a later try: the tip becomes final, counted once', async () => {
    const ledger: LedgerModule = ledgerModuleOf(live.server.modules);
    const bob = await reader(w.bob);
    const message = await declare(bob, 'Tipped through a failing write', 1_000_000_000n);
    const finalBefore = await tipsCounted('final');
    const totalsBefore = await chat.tips.totals(streamId);
    // The database refuses this message's first final write; a sequence, not rolled back with the failed update,
    // counts the final writes tried.
    const id = sql.raw(String(BigInt(message.id)));
    await ledger.ledger.use(async (db) => {
      await db.execute(sql`CREATE SEQUENCE signaling.tip_final_writes`);
      await db.execute(sql`
        CREATE FUNCTION signaling.fail_first_final_write() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.id = ${id} AND NEW.tip_status = 'final' THEN
            IF nextval('signaling.tip_final_writes') = 1 THEN
              RAISE EXCEPTION 'test: the first final write of message % fails', NEW.id;
            END IF;
          END IF;
          RETURN NEW;
        END $$`);
      await db.execute(sql`
        CREATE TRIGGER fail_first_final_write BEFORE UPDATE ON signaling.chat_messages
        FOR EACH ROW EXECUTE FUNCTION signaling.fail_first_final_write()`);
    });
    try {
      const paid = await signTip(w.bob, message.id, 2_000_000_000n);
      await vi.waitFor(
        () => expect(anonymous.tipsOf(message.id).map((t) => t.status)).toEqual(['pending', 'final']),
        WAIT,
      );
      // Refused once, written on the second try.
      const tried = await ledger.ledger.use((db) =>
        rowsOf<{ n: string }>(db, sql`SELECT last_value::text AS n FROM signaling.tip_final_writes`),
      );
      expect(tried).toEqual([{ n: '2' }]);
      expect((await history(anonymous)).find((m) => m.id === message.id)?.tip).toEqual({
        asset: 'native',
        amount: paid.toString(),
        status: 'final',
      });
      expect(await tipsCounted('final')).toBe(finalBefore + 1);
      expect(await chat.tips.totals(streamId)).toEqual({ pending: 0n, final: totalsBefore.final + paid });
      await vi.waitFor(
        () => expect(stats.at(-1)?.tips).toEqual({ pending: '0', final: (totalsBefore.final + paid).toString() }),
        WAIT,
      );
    } finally {
      await ledger.ledger.use(async (db) => {
        await db.execute(sql`DROP TRIGGER fail_first_final_write ON signaling.chat_messages`);
        await db.execute(sql`DROP FUNCTION signaling.fail_first_final_write()`);
        await db.execute(sql`DROP SEQUENCE signaling.tip_final_writes`);
      });
    }
  });

  it('never shows an unsigned tip to anyone else, nor in history or a join’s page', async () => {
    const eve = await reader(w.eve);
    const unsigned = await declare(eve, 'I will never sign this', 1_000_000_000n);
    // A plain message after it: once the readers have it, they would have had the tip before.
    const after = await eve.say(streamId, 'plain message');
    await vi.waitFor(() => expect(anonymous.received([after.id])).toHaveLength(1), WAIT);
    for (const r of [anonymous, watcher, creator]) expect(r.received([unsigned.id])).toEqual([]);
    for (const r of [anonymous, eve]) expect((await history(r)).map((m) => m.id)).not.toContain(unsigned.id);
    const late = await reader();
    expect((await late.join(streamId)).messages.map((m) => m.id)).not.toContain(unsigned.id);
    expect(anonymous.tipsOf(unsigned.id)).toEqual([]);
  });

  it('lets a tip through slow mode, within a tip limit of its own', async () => {
    const ferdie = await reader(w.ferdie);
    await callOk(creator.socket, 'chat:settings', { streamId, slowModeSeconds: 600, payingOnly: false });
    try {
      await ferdie.say(streamId, 'first');
      expect(await ferdie.send(streamId, 'second')).toMatchObject({
        ok: false,
        code: 'RATE_LIMITED',
        details: { reason: 'slow-mode' },
      });
      for (const n of [1, 2, 3]) await declare(ferdie, `tip ${n} in slow mode`, 1_000_000n);
      const refused = await call(ferdie.socket, 'chat:tip', {
        streamId,
        text: 'one more',
        asset: 'native',
        amount: '1000000',
      });
      expect(refused).toMatchObject({ ok: false, code: 'RATE_LIMITED', details: { reason: 'tips' } });
      expect(Number(refused.details?.retryAfterMs)).toBeGreaterThan(0);
    } finally {
      await callOk(creator.socket, 'chat:settings', { streamId, slowModeSeconds: 0, payingOnly: false });
    }
  });

  it('refuses tips of no or too much money, in another asset, by the creator, or without sign-in', async () => {
    const charlie = watcher;
    const tip = (r: Reader, extra: Record<string, unknown>): Promise<AckJson> =>
      call(r.socket, 'chat:tip', { streamId, text: 'tip', asset: 'native', amount: '1000', ...extra });
    expect(await tip(charlie, { amount: '0' })).toMatchObject({ ok: false, code: 'AMOUNT_OUT_OF_RANGE' });
    expect(await tip(charlie, { amount: (TIP_MAX + 1n).toString() })).toMatchObject({
      ok: false,
      code: 'AMOUNT_OUT_OF_RANGE',
      details: { max: TIP_MAX.toString() },
    });
    expect(await tip(charlie, { amount: '1'.padEnd(40, '0') })).toMatchObject({ ok: false, code: 'BAD_REQUEST' });
    expect(await tip(charlie, { amount: '-5' })).toMatchObject({ ok: false, code: 'BAD_REQUEST' });
    expect(await tip(charlie, { asset: 7 })).toMatchObject({ ok: false, code: 'BAD_REQUEST' });
    expect(await tip(creator, {})).toMatchObject({ ok: false, code: 'BAD_REQUEST' });
    expect(await tip(anonymous, {})).toMatchObject({ ok: false, code: 'UNAUTHENTICATED' });
  });
});
