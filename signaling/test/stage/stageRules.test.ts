// The rules of one stage (no server): who may ask, answer, publish, mute, remove, promote and demote, each refusal
// with its stable code, and the events its owner acts on.
import { describe, expect, it } from 'vitest';
import { SignalingError } from '../../src/errors.ts';
import { Stage } from '../../src/stage/Stage.ts';
import { STAGE_MEMBERS_MAX, STAGE_REQUESTS_MAX } from '../../src/stage/wire.ts';

const HOST = 'host-wallet';
const BOB = 'bob-wallet';
const CAROL = 'carol-wallet';
const DAVE = 'dave-wallet';

/** The stable code `fn` is refused with. */
function codeOf(fn: () => void): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof SignalingError) return err.code;
    throw err;
  }
  return undefined;
}

function stageWithEvents() {
  const stage = new Stage('stream-0001', HOST);
  const roles: { wallet: string; role: string; reason: string }[] = [];
  let members = 0;
  let requests = 0;
  stage.on('role', (e) => roles.push(e));
  stage.on('members', () => members++);
  stage.on('requests', () => requests++);
  return { stage, roles, counts: () => ({ members, requests }) };
}

describe('stage rules', () => {
  it('takes a request, lets the host approve it and the guest publish, and nobody else', () => {
    const { stage, roles } = stageWithEvents();
    expect(stage.roleOf(HOST)).toBe('host');
    expect(stage.roleOf(BOB)).toBe('viewer');
    expect(stage.mayPublish(HOST)).toBe(true);
    expect(stage.mayPublish(BOB)).toBe(false);

    stage.request(BOB, 1_000);
    stage.request(BOB, 2_000);
    expect(stage.requests()).toEqual([{ wallet: BOB, at: 1_000 }]);
    expect(codeOf(() => stage.request(HOST))).toBe('BAD_REQUEST');
    // A viewer cannot answer, not even its own request.
    expect(codeOf(() => stage.answer(BOB, BOB, true))).toBe('NOT_STAGE_HOST');
    expect(codeOf(() => stage.answer(HOST, CAROL, true))).toBe('STAGE_REQUEST_NOT_FOUND');
    expect(stage.mayPublish(BOB)).toBe(false);

    stage.answer(HOST, BOB, true);
    expect(stage.roleOf(BOB)).toBe('guest');
    expect(stage.mayPublish(BOB)).toBe(true);
    expect(stage.isGuestOrCoHost(BOB)).toBe(true);
    expect(stage.isGuestOrCoHost(HOST)).toBe(false);
    expect(stage.requests()).toEqual([]);
    expect(roles).toEqual([{ wallet: BOB, role: 'guest', reason: 'approved' }]);
    // Answered already.
    expect(codeOf(() => stage.answer(HOST, BOB, true))).toBe('STAGE_REQUEST_NOT_FOUND');
  });

  it('rejects, withdraws and steps down', () => {
    const { stage, roles } = stageWithEvents();
    stage.request(BOB);
    stage.answer(HOST, BOB, false);
    expect(stage.roleOf(BOB)).toBe('viewer');
    expect(roles.at(-1)).toEqual({ wallet: BOB, role: 'viewer', reason: 'rejected' });

    stage.request(CAROL);
    stage.cancel(CAROL);
    expect(codeOf(() => stage.answer(HOST, CAROL, true))).toBe('STAGE_REQUEST_NOT_FOUND');

    stage.request(DAVE);
    stage.answer(HOST, DAVE, true);
    stage.leave(DAVE);
    expect(stage.roleOf(DAVE)).toBe('viewer');
    expect(stage.mayPublish(DAVE)).toBe(false);
    expect(roles.at(-1)).toEqual({ wallet: DAVE, role: 'viewer', reason: 'left' });
    expect(codeOf(() => stage.leave(DAVE))).toBe('NOT_ON_STAGE');
    expect(codeOf(() => stage.leave(HOST))).toBe('NOT_ON_STAGE');
  });

  it('lets co-hosts moderate guests but only the host touch co-hosts, promote or demote', () => {
    const { stage, roles } = stageWithEvents();
    for (const w of [BOB, CAROL, DAVE]) stage.request(w);
    stage.answer(HOST, BOB, true);
    expect(codeOf(() => stage.setRole(BOB, BOB, 'co-host'))).toBe('NOT_CREATOR');
    stage.setRole(HOST, BOB, 'co-host');
    expect(stage.roleOf(BOB)).toBe('co-host');
    expect(roles.at(-1)).toEqual({ wallet: BOB, role: 'co-host', reason: 'promoted' });
    expect(codeOf(() => stage.setRole(HOST, DAVE, 'co-host'))).toBe('NOT_ON_STAGE');

    // The co-host answers requests and controls guests.
    stage.answer(BOB, CAROL, true);
    stage.mute(BOB, CAROL, 'microphone', true);
    expect(stage.isForceMuted(CAROL, 'microphone')).toBe(true);
    expect(stage.isForceMuted(CAROL, 'camera')).toBe(false);
    // A guest controls nobody; a co-host not the host, nor another co-host.
    expect(codeOf(() => stage.mute(CAROL, BOB, 'camera', true))).toBe('NOT_STAGE_HOST');
    expect(codeOf(() => stage.mute(BOB, HOST, 'camera', true))).toBe('NOT_CREATOR');
    stage.setRole(HOST, CAROL, 'co-host');
    expect(codeOf(() => stage.remove(BOB, CAROL))).toBe('NOT_CREATOR');
    stage.setRole(HOST, CAROL, 'guest');
    expect(roles.at(-1)).toEqual({ wallet: CAROL, role: 'guest', reason: 'demoted' });
    stage.mute(HOST, CAROL, 'microphone', false);
    expect(stage.isForceMuted(CAROL, 'microphone')).toBe(false);

    stage.remove(BOB, CAROL);
    expect(stage.roleOf(CAROL)).toBe('viewer');
    expect(roles.at(-1)).toEqual({ wallet: CAROL, role: 'viewer', reason: 'removed' });
    expect(codeOf(() => stage.remove(BOB, CAROL))).toBe('NOT_ON_STAGE');
    // The host removes a co-host; the removed co-host moderates nothing any more.
    stage.remove(HOST, BOB);
    expect(codeOf(() => stage.answer(BOB, DAVE, true))).toBe('NOT_STAGE_HOST');
  });

  it('bounds the requests and the members', () => {
    const { stage } = stageWithEvents();
    for (let i = 0; i < STAGE_REQUESTS_MAX; i++) stage.request(`w${i}`);
    expect(codeOf(() => stage.request('one-more'))).toBe('LIMIT_REACHED');
    for (let i = 0; i < STAGE_MEMBERS_MAX; i++) stage.answer(HOST, `w${i}`, true);
    expect(codeOf(() => stage.answer(HOST, `w${STAGE_MEMBERS_MAX}`, true))).toBe('LIMIT_REACHED');
    // Rejecting stays possible at the bound.
    stage.answer(HOST, `w${STAGE_MEMBERS_MAX}`, false);
  });

  it('closes once: members become viewers, nobody may publish but nothing throws twice', () => {
    const { stage, roles } = stageWithEvents();
    let closes = 0;
    stage.on('@close', () => closes++);
    stage.request(BOB);
    stage.answer(HOST, BOB, true);
    stage.close();
    stage.close();
    expect(closes).toBe(1);
    expect(stage.closed).toBe(true);
    expect(roles.at(-1)).toEqual({ wallet: BOB, role: 'viewer', reason: 'ended' });
    expect(stage.mayPublish(BOB)).toBe(false);
    expect(stage.mayPublish(HOST)).toBe(false);
    expect(stage.isGuestOrCoHost(BOB)).toBe(false);
    expect(codeOf(() => stage.request(CAROL))).toBe('STREAM_NOT_LIVE');
  });
});
