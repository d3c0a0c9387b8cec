/** Progress of a signed transaction, as shown to people. */
export type TxPhase = 'idle' | 'signing' | 'submitted' | 'in-block' | 'final' | 'failed';
