// Signing in to the signaling server with the wallet (nonce → signed SIWS message → httpOnly session cookie).
import { z } from 'zod';
import { postJson } from '../api/http.ts';
import { chainApi } from '../chain/api.ts';
import { config } from '../config.ts';
import { explain, UserFacingError } from '../errors.ts';
import type { Wallet } from '../wallet/wallet.svelte.ts';
import { formatSiwsMessage } from './siws.ts';

// The server may hand out the full message to sign (its own domain, statement and expiry) or only the nonce.
const NonceAnswer = z.object({ nonce: z.string().min(8).max(128), message: z.string().min(1).max(4096).optional() });
const VerifyAnswer = z.object({ address: z.string(), token: z.string().optional(), expiresAt: z.string().optional() });

const SIGN_IN_TTL_MS = 5 * 60_000;

/** Who is signed in to the signaling server. */
export class AuthSession {
  address = $state<string | undefined>();
  /** Session token for the Socket.IO handshake, when the server issues one (HTTP uses the httpOnly cookie). */
  token = $state<string | undefined>();
  busy = $state(false);
  error = $state<string | undefined>();

  constructor(private readonly wallet: Wallet) {}

  /** True when the selected wallet account is the signed-in one. */
  get signedIn(): boolean {
    return this.address !== undefined && this.address === this.wallet.selectedAddress;
  }

  /** Signs in as the selected account; resolves true on success, false with `error` set otherwise. */
  async signIn(): Promise<boolean> {
    const address = this.wallet.selectedAddress;
    if (!address) {
      this.error = 'Connect your wallet and pick an account first.';
      return false;
    }
    this.busy = true;
    this.error = undefined;
    try {
      const base = config.PUBLIC_SIGNALING_URL;
      const answer = await postJson(`${base}/v1/auth/nonce`, { address }, NonceAnswer);
      const message = answer.message ?? (await this.#buildMessage(address, answer.nonce));
      // Never sign a server-made message that is not about this account and this nonce.
      if (!message.includes(address) || !message.includes(answer.nonce))
        throw new UserFacingError(
          'SIGNATURE_INVALID',
          'The sign-in request looks wrong, so it was not signed. Please try again.',
        );
      const signature = await this.wallet.signMessage(message);
      const verified = await postJson(`${base}/v1/auth/verify`, { address, message, signature }, VerifyAnswer);
      this.address = verified.address;
      this.token = verified.token;
      return true;
    } catch (err) {
      this.error = explain(err);
      return false;
    } finally {
      this.busy = false;
    }
  }

  async #buildMessage(address: string, nonce: string): Promise<string> {
    const api = await chainApi();
    const issuedAt = new Date();
    return formatSiwsMessage({
      domain: location.host,
      address,
      statement: 'Sign in to Persecond. This does not move any funds.',
      uri: location.origin,
      chain: api.genesisHash.toHex(),
      nonce,
      issuedAt,
      expiresAt: new Date(issuedAt.getTime() + SIGN_IN_TTL_MS),
    });
  }

  /** Forgets the session (the cookie expires on its own). */
  signOut(): void {
    this.address = undefined;
    this.token = undefined;
  }
}
