// Browser-safe part of the public API (no node: built-ins, no chopsticks): the dapp imports
// `@persecond/contracts-client/browser`; servers import the package root, which re-exports all of this.
export {
  AmountText,
  checkU128,
  formatAmount,
  formatUnits,
  owedFor,
  parseAmount,
  parseUnits,
  U128_MAX,
  unsettled,
} from './amount.ts';
export { type Balance, getBalance } from './chain/balances.ts';
export {
  type ChainClient,
  type ChainFacts,
  type ConnectOptions,
  connect,
  REQUIRED_CALLS,
  readFacts,
} from './chain/connect.ts';
export { readBlock, readEvents, readFinalizedHash, readHeader } from './chain/rawReads.ts';
export { ContractsClientError, ErrorCode } from './errors.ts';
export { decodeBlock, decodeBlockData, decodeBlockParts, fetchDecodedBlock } from './events/decodeBlock.ts';
export {
  CidText,
  formatRemark,
  PAYMENT_REMARK,
  ProtocolId,
  type ProtocolRemark,
  parseRemark,
  REMARK_PREFIX,
  Seq,
  type SessionKind,
  sessionKindOf,
} from './events/remark.ts';
export type {
  Asset,
  BlockRef,
  ChainPosition,
  DecodedBlock,
  ProtocolEvent,
  RefundEvent,
  SessionFundedEvent,
  SettlementEvent,
  StreamAnnouncedEvent,
  TipEvent,
} from './events/types.ts';
export type { AccountView, CallView, EventRecordView, ExtrinsicView } from './events/views.ts';
export { type Delegation, formatDelegation, parseDelegation, verifyDelegation } from './identity/delegation.ts';
export { verifyWalletSignature } from './identity/signatures.ts';
export {
  buildSignInMessage,
  parseSignInMessage,
  type SignInExpectation,
  type SignInFields,
  verifySignIn,
} from './identity/siws.ts';
export {
  creatorExposureSeconds,
  MAX_PRICE_PER_SECOND,
  MAX_SESSION_SECONDS,
  type PaymentRules,
  SETTLE_EVERY_BOUNDS,
  type StreamPaymentTerms,
  StreamPaymentTermsInput,
  viewerExposureSeconds,
} from './paymentTerms.ts';
export {
  buildAnnouncement,
  buildFinalSettlement,
  buildFunding,
  buildSettlement,
  buildTip,
  estimateFee,
  type FinalSettlementParams,
  type FundingParams,
  type SettlementParams,
  type TipParams,
  type Tx,
  type TxContext,
  txContext,
} from './tx/builders.ts';
export {
  type DispatchFailure,
  decodeDispatchError,
  type SubmitOptions,
  type SubmitResult,
  type TxSigner,
  TxSubmitter,
} from './tx/submit.ts';
export { formatJoinProof, type JoinProof, signJoinProof, verifyJoinProof } from './vouchers/joinProof.ts';
export { sessionIdOf } from './vouchers/sessionId.ts';
export {
  createSessionKey,
  type SessionKey,
  sessionKeyPair,
  sessionPublicKeyHex,
  signWithSessionKey,
} from './vouchers/sessionKey.ts';
export {
  formatVoucher,
  GenesisHash,
  parseVoucher,
  signVoucher,
  type Voucher,
  VoucherWire,
} from './vouchers/voucher.ts';
export { SettlementWatcher, type WatchedBlock, type WatcherOptions } from './watcher/SettlementWatcher.ts';
