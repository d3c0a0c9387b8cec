// Issue 19's model-based property test: a few honest and malicious viewers (3–5 wallets) do random joins, acks
// (right, wrong signature, none), settlements or not, leaves, rejoins on other sockets, HLS bursts, disconnects,
// sweeps, borrowed sessions and a node restart against the real stack (dev chain, mediasoup, ffmpeg, PGlite); after
// each run every planck is accounted for between the ledger and the chain. Model and commands: support/paymentModel/.
// Replay a failure with PAYMENT_MODEL_SEED=<seed> PAYMENT_MODEL_PATH=<path> (printed by fast-check).
import type { StreamPaymentTerms } from '@persecond/contracts-client';
import type { KeyringPair } from '@polkadot/keyring/types';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { sessionCapacity } from '../src/hlsEdge/FetchPolicy.ts';
import { commandArbitrary } from './support/paymentModel/commandArbitrary.ts';
import { HlsBurst } from './support/paymentModel/hlsBurst.ts';
import {
  type ActorModel,
  creatorExposure,
  dropClient,
  type RunModel,
  type SessionModel,
  StepChecked,
  syncModel,
} from './support/paymentModel/model.ts';
import { Restart } from './support/paymentModel/nodeCommands.ts';
import { sweep } from './support/paymentModel/paymentCommands.ts';
import { type AckMode, PaymentModelStack } from './support/paymentModel/stack.ts';
import { JoinNew } from './support/paymentModel/viewerCommands.ts';
import { callOk } from './viewers-support.ts';

const PRICE = 1_000_000n;
const BUDGET = 10n ** 12n;
const VOUCHER_GRACE = 3;
/** The smallest settle interval a creator may choose (SETTLE_EVERY_BOUNDS), so that settlements matter in a short run. */
const SETTLE_EVERY = 5;
const PAYMENT_GRACE = 2;
/** The SFU's default HLS segment length. */
const HLS_SEGMENT_SECONDS = 1;
/** The real stack is slow: a few short runs (each a fresh stream and sessions on the same node and ledger). */
const RUNS = Number(process.env.PAYMENT_MODEL_RUNS ?? 3);
const MIN_COMMANDS = 10;
const MAX_COMMANDS = 15;

describe('payment model: random honest and malicious viewers against the real stack', () => {
  let stack: PaymentModelStack;
  let creator: KeyringPair;
  let viewerWallets: KeyringPair[];

  beforeAll(async () => {
    stack = await PaymentModelStack.start({
      viewersEnv: {
        VOUCHER_GRACE_SECONDS: String(VOUCHER_GRACE),
        PAYMENT_GRACE_SECONDS: String(PAYMENT_GRACE),
        VOUCHER_VERIFY_INTERVAL_MS: '200',
        // Sessions end by the model's commands and the stream's end only, not by the clock.
        RECONNECT_GRACE_SECONDS: '3600',
        IDLE_RELEASE_SECONDS: '3600',
        JOIN_RATE_LIMIT_MAX: '1000',
      },
    });
    const { alice, bob, charlie, dave, eve, ferdie } = stack.live.wallets;
    creator = alice;
    viewerWallets = [bob, charlie, dave, eve, ferdie];
  }, 120_000);

  afterAll(() => stack?.close(), 60_000);

  const startRun = async (actors: number, payAhead: boolean, ackModes: AckMode[]): Promise<RunModel> => {
    const terms: StreamPaymentTerms = { settleEverySeconds: SETTLE_EVERY, payAhead };
    const baselineDebt = new Map<string, bigint>();
    for (const w of viewerWallets) baselineDebt.set(w.address, (await stack.ledger().debtOf(w.address)).debt);
    return {
      creator,
      price: PRICE,
      terms,
      voucherGrace: VOUCHER_GRACE,
      paymentGrace: PAYMENT_GRACE,
      hlsSegmentSeconds: HLS_SEGMENT_SECONDS,
      budget: BUDGET,
      stream: await stack.startStream(creator, PRICE, terms),
      actors: viewerWallets.slice(0, actors).map(
        (wallet, index): ActorModel => ({
          index,
          name: wallet.meta.name ?? wallet.address,
          wallet,
          ackMode: ackModes[index] ?? 'right',
          current: undefined,
          client: undefined,
          rtc: undefined,
          playlistUrl: undefined,
        }),
      ),
      sessions: [],
      baselineDebt,
      restarted: false,
      executed: [],
    };
  };

  /** Sessions' ledger rows (undefined for sessions never admitted). */
  const rowOf = (s: SessionModel) => (s.opened ? stack.ledger().session(s.session.sessionId) : undefined);

  /**
   * Every planck of the run's sessions accounted for, from the ledger and from the chain's blocks since `fromBlock`.
   * `swept`: every session account was swept, so nothing is owed or held any more.
   */
  const audit = async (m: RunModel, fromBlock: number, swept: boolean): Promise<string> => {
    // Credits land pending at in-block, then final (chopsticks finalizes each block it builds).
    await vi.waitFor(
      async () => {
        for (const s of m.sessions) {
          const row = await rowOf(s);
          if (row)
            expect({ pending: row.settledPending, final: row.settledFinal }).toEqual({ pending: 0n, final: s.settled });
        }
      },
      { timeout: 30_000, interval: 100 },
    );
    const chain = await stack.chainMoney(
      fromBlock,
      creator.address,
      m.sessions.map((s) => ({
        sessionId: s.session.sessionId,
        sessionAccount: s.session.key.address,
        wallet: s.actor.wallet.address,
      })),
    );
    let charged = 0n;
    let credited = 0n;
    let overpaid = 0n;
    for (const s of m.sessions) {
      const id = s.session.sessionId;
      const row = await rowOf(s);
      const money = chain.get(id);
      if (!money) throw new Error(`no chain audit of ${id}`);
      const owed = row?.owed ?? 0n;
      const settled = row ? row.settledPending + row.settledFinal : 0n;
      expect(money.funded, `funding of ${id}`).toBe(m.budget);
      // The ledger's settled amount is the chain's ps1:pay transfers from the session account to the creator.
      expect(settled, `ledger settled of ${id} = chain`).toBe(money.settled);
      expect(money.settled, `chain settled of ${id} = what the model paid`).toBe(s.settled);
      // Σ refunded = Σ funded − Σ settled − Σ fees paid by the session account − Σ still held by it.
      expect(money.refunded, `refund of ${id}`).toBe(money.funded - money.settled - money.fees - money.held);
      if (swept) expect(money.held, `held by ${id} after its sweep`).toBe(0n);
      // No media beyond the bound without a valid voucher: a session never acknowledged with a valid voucher was
      // ticked at most VOUCHER_GRACE_SECONDS + 1 times (plus, on HLS, the one charge of its undelivered credit).
      if (row && row.acknowledgedSeq === 0) {
        expect(row.lastSeq, `ticks of ${id} without a valid voucher`).toBeLessThanOrEqual(
          VOUCHER_GRACE + 1 + (s.everHls ? 1 : 0),
        );
      }
      // The creator's worst case holds after the fact too; on HLS the segments delivered and not ticked yet (at most
      // one player's bucket, and the round in flight) are charged when the session ends.
      const hlsCharge = s.everHls ? BigInt(sessionCapacity(HLS_SEGMENT_SECONDS) + 1) * m.price : 0n;
      expect(owed - settled, `unpaid of ${id}`).toBeLessThanOrEqual(creatorExposure(m) + hlsCharge);
      charged += owed;
      credited += money.settled;
      if (money.settled > owed) overpaid += money.settled - owed;
    }
    let debt = 0n;
    for (const w of viewerWallets) {
      debt += (await stack.ledger().debtOf(w.address)).debt - (m.baselineDebt.get(w.address) ?? 0n);
    }
    // Σ charged (ledger owed) = Σ credited to the creator (chain ps1:pay = ledger settled) + Σ recorded debt (the
    // ledger's debtOf: owed − settled per session where positive) − Σ overpaid (settled − owed where positive).
    expect(charged, 'Σ charged = Σ credited + Σ debt − Σ overpaid').toBe(credited + debt - overpaid);
    if (swept) expect(debt, 'debt after every sweep').toBe(0n);
    return `charged ${charged} = credited ${credited} + debt ${debt} − overpaid ${overpaid}`;
  };

  /** Ends the run's stream (its sessions close at what was metered), audits, sweeps every account, audits again. */
  const endRun = async (m: RunModel, fromBlock: number): Promise<string> => {
    syncModel(m);
    await callOk(m.stream.creatorSocket, 'stream:end', { streamId: m.stream.streamId });
    for (const a of m.actors) dropClient(a);
    m.stream.publisher.close();
    m.stream.creatorSocket.close();
    await vi
      .waitFor(
        async () => {
          for (const s of m.sessions) if (s.opened) expect((await rowOf(s))?.status).toBe('closed');
        },
        { timeout: 30_000, interval: 100 },
      )
      .catch(() => undefined);
    for (const s of m.sessions) {
      const row = await rowOf(s);
      if (!row) continue;
      expect(row.owed, `owed of ${s.session.sessionId} ≥ what its clients were told`).toBeGreaterThanOrEqual(s.maxOwed);
      // HLS viewers pay for what they were served, whatever they did meanwhile (bursts, rejoins, leaving right after).
      expect(
        row.watchedSeconds,
        `seconds charged to ${s.session.sessionId} for its HLS segments`,
      ).toBeGreaterThanOrEqual(s.hlsServed - s.hlsLost - 1e-6);
      if (s.state !== 'orphaned') {
        expect(row.status).toBe('closed');
        s.state = 'left';
      }
      s.owedFinal = row.owed;
    }
    const before = await audit(m, fromBlock, false);
    await Promise.all(m.sessions.filter((s) => !s.swept).map((s) => sweep(m, stack, s)));
    const after = await audit(m, fromBlock, true);
    const hls = m.sessions.reduce((sum, s) => sum + s.hlsServed, 0);
    const lost = m.sessions.reduce((sum, s) => sum + s.hlsLost, 0);
    return `${m.sessions.length} sessions, ${hls} s of HLS segments served (${lost} s uncharged at a restart); before the sweeps ${before}; after ${after}`;
  };

  it('accounts for every planck between ledger and chain, whatever the viewers do', async () => {
    let run = 0;
    const seed = process.env.PAYMENT_MODEL_SEED;
    const path = process.env.PAYMENT_MODEL_PATH;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 3, max: 5 }),
        fc.boolean(),
        fc.array(fc.constantFrom<AckMode>('right', 'right', 'wrong', 'none'), { minLength: 5, maxLength: 5 }),
        fc.array(fc.constantFrom<'webrtc' | 'hls'>('webrtc', 'hls'), { minLength: 5, maxLength: 5 }),
        fc.array(commandArbitrary(5), { minLength: MIN_COMMANDS, maxLength: MAX_COMMANDS }),
        async (actors, payAhead, ackModes, firstModes, cmds) => {
          run++;
          const startedAt = Date.now();
          const fromBlock = await stack.head();
          const m = await startRun(actors, payAhead, ackModes);
          try {
            // Every viewer joins first (so that no run is spent without sessions), then the random commands.
            for (const a of m.actors)
              await new StepChecked(new JoinNew(a.index, firstModes[a.index] ?? 'hls')).run(m, stack);
            // An HLS player fetches at once: each HLS viewer admitted takes its first segments.
            for (const a of m.actors) {
              if (a.current?.state === 'attached' && a.current.mode === 'hls') {
                await new StepChecked(new HlsBurst(a.index, 4)).run(m, stack);
              }
            }
            await fc.asyncModelRun(() => ({ model: m, real: stack }), cmds);
            // Each run restarts the node at most once; the last one makes sure the property saw one.
            if (run === RUNS && stack.restarts === 0) await new StepChecked(new Restart()).run(m, stack);
          } catch (err) {
            for (const a of m.actors) dropClient(a);
            if (err instanceof Error) err.message += `\n(run ${run}, commands run: ${m.executed.join(', ')})`;
            throw err;
          }
          const summary = await endRun(m, fromBlock).catch((err: unknown) => {
            if (err instanceof Error) err.message += `\n(run ${run}, commands run: ${m.executed.join(', ')})`;
            throw err;
          });
          // What the run did, for the record (fast-check prints the commands of a failing run itself).
          console.info(
            `payment model run ${run} (${Math.round((Date.now() - startedAt) / 1000)} s): ${actors} viewers joined ${firstModes.slice(0, actors)}, acks ${ackModes.slice(0, actors)}, payAhead ${payAhead}; ${summary}; ${m.executed.join(', ')}`,
          );
        },
      ),
      {
        numRuns: RUNS,
        // Shrinking re-runs the real stack many times: opt in with PAYMENT_MODEL_SHRINK=1.
        endOnFailure: process.env.PAYMENT_MODEL_SHRINK !== '1',
        ...(seed ? { seed: Number(seed) } : {}),
        ...(path ? { path } : {}),
      },
    );
    expect(stack.restarts).toBeGreaterThanOrEqual(1);
  }, 600_000);
});
