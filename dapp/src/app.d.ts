// See https://svelte.dev/docs/kit/types#app.d.ts
// Type-only: the chain's storage and transaction types for @polkadot/api (the default Substrate augmentation).
import '@polkadot/api-augment';

declare global {
  namespace App {
    interface Error {
      message: string;
      code?: string;
    }
  }
}
