// Builds one block on an in-process chopsticks chain as `dev_newBlock` does (chopsticks-core's buildBlock: the same
// header, the same inherent providers, the real runtime's BlockBuilder calls, the same storage diff and head update),
// but applies the block's transactions and finalizes it in ONE executor task. chopsticks' executor compiles the
// runtime wasm afresh for every task (HostVmPrototype::new per run_task) and carries storage changes from one call
// of a task to the next, so this gives the same block for about a third of the compiles (init, each inherent, then
// the transactions with the finalization, instead of one per transaction too). Used only to build the bench's chain.
import {
  Block,
  type Blockchain,
  inherentProviders,
  newHeader,
  runTask,
  taskHandler,
} from '@acala-network/chopsticks-core';
import { u8aConcat } from '@polkadot/util';
import { blake2AsU8a } from '@polkadot/util-crypto';

type HexString = `0x${string}`;

/** Runs `calls` (method, SCALE-encoded argument) as one executor task on `block`'s state; its storage diff. */
async function runCalls(
  block: Block,
  calls: Array<[string, HexString[]]>,
  bypassSignatures: boolean,
): Promise<Array<[HexString, HexString | null]>> {
  const chain = block.chain;
  const response = await runTask(
    {
      wasm: await block.wasm,
      calls,
      mockSignatureHost: chain.mockSignatureHost,
      allowUnresolvedImports: chain.allowUnresolvedImports,
      runtimeLogLevel: chain.runtimeLogLevel,
    },
    taskHandler(block),
    bypassSignatures,
  );
  if ('Call' in response) return response.Call.storageDiff as Array<[HexString, HexString | null]>;
  throw new Error(`block building failed in ${calls.map(([m]) => m).join(', ')}: ${response.Error}`);
}

/**
 * Seals a block of `transactions` (signed, SCALE hex) on top of `chain`'s head and makes it the head (saved to the
 * chain's database like any built block). Every transaction must apply: unlike the transaction pool, this does not
 * read each one's outcome (the bench checks every settlement is on chain afterwards).
 */
export async function sealFast(chain: Blockchain, transactions: HexString[]): Promise<void> {
  const head = chain.head;
  const registry = await head.registry;
  const header = await newHeader(head);
  const number = header.number.toNumber();
  const scratch = `0x${'ab'.repeat(32)}` as HexString;
  const block = new Block(chain, number, scratch, head, { header, extrinsics: [], storage: head.storage });
  block.pushStorageLayer().setAll(await runCalls(block, [['Core_initialize_block', [header.toHex()]]], false));
  const params = { transactions, downwardMessages: [], upwardMessages: {}, horizontalMessages: {} };
  const inherents: HexString[] = [];
  // As chopsticks: each provider's inherents applied (signatures of fake relay digests bypassed) before the next.
  for (const provider of inherentProviders) {
    const extrinsics = (await provider.createInherents(block, params as never)) as HexString[];
    if (extrinsics.length === 0) continue;
    const calls = extrinsics.map((x): [string, HexString[]] => ['BlockBuilder_apply_extrinsic', [x]]);
    block.pushStorageLayer().setAll(await runCalls(block, calls, true));
    inherents.push(...extrinsics);
  }
  const calls = transactions.map((x): [string, HexString[]] => ['BlockBuilder_apply_extrinsic', [x]]);
  calls.push(['BlockBuilder_finalize_block', []]);
  block.pushStorageLayer().setAll(await runCalls(block, calls, false));
  const all = [...inherents, ...transactions];
  const finalHeader = registry.createType('Header', {
    ...header.toJSON(),
    extrinsicsRoot: blake2AsU8a(u8aConcat(...all), 256),
  });
  const built = new Block(chain, number, finalHeader.hash.toHex(), head, {
    header: finalHeader,
    extrinsics: all,
    storage: head.storage,
    storageDiff: await block.storageDiff(),
  });
  await chain.onNewBlock(built);
}
