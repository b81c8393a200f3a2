/**
 * The credential the Graph client gets its tokens from.
 */
import {
  DefaultAzureCredential,
  ManagedIdentityCredential,
  type AccessToken,
  type TokenCredential,
} from '@azure/identity';
import { ConfigError, isLoopbackUrl } from '../config.js';

/**
 * A fixed dummy token for the Graph simulator on loopback.
 *
 * Why it exists: the simulator only checks that a bearer token is present, and on a machine with
 * no Azure sign-in `DefaultAzureCredential` would fail (or probe IMDS) before any request is made.
 * Why it is never used for a non-loopback URL: a dummy token sent to real Graph would be a
 * misconfiguration that fails in confusing ways; more importantly, the simulator switch must not be
 * able to make the app talk to a real tenant without real credentials. `createCredential` and
 * `createGraphClient` both refuse that combination.
 */
export class SimulatorCredential implements TokenCredential {
  /** The token the simulator receives. Not a secret: it only works against the simulator. */
  static readonly TOKEN = 'ems-licensing-simulator-token';

  getToken(): Promise<AccessToken> {
    return Promise.resolve({
      token: SimulatorCredential.TOKEN,
      expiresOnTimestamp: Date.now() + 60 * 60 * 1000,
    });
  }
}

/** Inputs of `createCredential`, taken from `BaseConfig`. */
export interface CredentialOptions {
  /** Client id of the user-assigned managed identity (AZURE_CLIENT_ID); unset → DefaultAzureCredential. */
  managedIdentityClientId: string | undefined;
  /** True when GRAPH_BASE_URL is the loopback simulator (`config.graph.simulator`). */
  simulator: boolean;
  /** GRAPH_BASE_URL; when given, the simulator credential is refused unless it is loopback. */
  baseUrl?: string;
  /** AZURE_TENANT_ID: which tenant DefaultAzureCredential (Azure CLI, VS Code…) asks for a token. */
  tenantId?: string | undefined;
}

/**
 * Builds the token credential: the simulator's dummy credential on loopback, a user-assigned
 * `ManagedIdentityCredential` when a client id is configured, otherwise `DefaultAzureCredential`
 * (environment, workload identity, system-assigned managed identity, Azure CLI… for local runs).
 */
export function createCredential(options: CredentialOptions): TokenCredential {
  if (options.simulator) {
    if (options.baseUrl !== undefined && !isLoopbackUrl(options.baseUrl)) {
      throw new ConfigError(
        'GRAPH_BASE_URL: the simulator credential is only allowed for a loopback URL (http://127.0.0.1:PORT); set GRAPH_BASE_URL to https://graph.microsoft.com or to the simulator.',
      );
    }
    return new SimulatorCredential();
  }
  if (options.managedIdentityClientId !== undefined) {
    return new ManagedIdentityCredential({ clientId: options.managedIdentityClientId });
  }
  return options.tenantId !== undefined
    ? new DefaultAzureCredential({ tenantId: options.tenantId })
    : new DefaultAzureCredential();
}
