// What decodeBlockParts reads of extrinsics and event records. polkadot-js codecs (GenericExtrinsic, EventRecord)
// satisfy these shapes; so does a leaner decoder that builds only the parts that can carry protocol events.

/** An account: `toString` gives its SS58 text (any format), `toHex` bytes that identify it (a cache key). */
export interface AccountView {
  toHex(): string;
  toString(): string;
}

/**
 * A call by pallet (`section`) and call (`method`) name, camelCase as polkadot-js names them. A `utility.batchAll`'s
 * first argument is its calls; a `system.remarkWithEvent`'s is the remark's bytes (a Uint8Array).
 */
export interface CallView {
  readonly section: string;
  readonly method: string;
  readonly args: ArrayLike<unknown>;
}

/** An extrinsic: signed or not, its call, its signer, its hash. */
export interface ExtrinsicView {
  readonly isSigned: boolean;
  readonly method: CallView;
  readonly signer: AccountView;
  readonly hash: { toHex(): string };
}

/** An event record: the extrinsic it belongs to (if any), the event's names and its fields in order. */
export interface EventRecordView {
  readonly phase: { readonly isApplyExtrinsic: boolean; readonly asApplyExtrinsic: { toNumber(): number } };
  readonly event: { readonly section: string; readonly method: string; readonly data: ArrayLike<unknown> };
}
