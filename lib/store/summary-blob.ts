/**
 * Run summaries (reconcile, cleanup) written to Blob storage: one JSON blob for tools and one
 * Markdown blob for people, side by side in one container.
 */
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import type { TokenCredential } from '@azure/identity';
import type { SummaryWriter } from './ports.js';

/** JSON is UTF-8 by definition (RFC 8259 §8.1) and its media type takes no charset parameter. */
export const JSON_CONTENT_TYPE = 'application/json';
/** Markdown has no fixed encoding (RFC 7763 §2), so the charset is stated. */
export const MARKDOWN_CONTENT_TYPE = 'text/markdown; charset=utf-8';

/**
 * Blob names may be up to 1,024 characters and should not end with `.` or `/` ("Naming and
 * referencing containers, blobs, and metadata", learn.microsoft.com/rest/api/storageservices/
 * naming-and-referencing-containers--blobs--and-metadata). `/` makes virtual folders and is
 * allowed; `\` and control characters are refused because tools treat them inconsistently.
 */
const MAX_NAME_CHARS = 1_000;

/** {@link SummaryWriter} on an Azure Blob container, created on first write if missing. */
export class BlobSummaryWriter implements SummaryWriter {
  readonly #container: ContainerClient;
  #created: Promise<void> | undefined;

  /** @param container - the container summaries go to (see the static factories). */
  constructor(container: ContainerClient) {
    this.#container = container;
  }

  /** From a storage connection string (Azurite locally, or an account key). */
  static fromConnectionString(connectionString: string, containerName: string): BlobSummaryWriter {
    const service = BlobServiceClient.fromConnectionString(connectionString);
    return new BlobSummaryWriter(service.getContainerClient(containerName));
  }

  /** From `https://<account>.blob.core.windows.net` and an Entra credential (managed identity). */
  static fromEndpoint(
    blobEndpoint: string,
    credential: TokenCredential,
    containerName: string,
  ): BlobSummaryWriter {
    const service = new BlobServiceClient(blobEndpoint, credential);
    return new BlobSummaryWriter(service.getContainerClient(containerName));
  }

  /**
   * Writes `<name>.json` (application/json) and `<name>.md` (text/markdown); returns both blobs'
   * URLs. Writing the same name again replaces both.
   */
  async write(
    name: string,
    json: unknown,
    markdown: string,
  ): Promise<{ jsonBlob: string; markdownBlob: string }> {
    checkName(name);
    const jsonText = JSON.stringify(json, null, 2) as string | undefined;
    if (jsonText === undefined) {
      throw new Error(`Summary ${name}: the JSON part is not serialisable (undefined or a function)`);
    }
    try {
      await this.#ensureContainer();
      const jsonBlob = this.#container.getBlockBlobClient(`${name}.json`);
      const markdownBlob = this.#container.getBlockBlobClient(`${name}.md`);
      await Promise.all([
        jsonBlob.uploadData(Buffer.from(jsonText, 'utf8'), {
          blobHTTPHeaders: { blobContentType: JSON_CONTENT_TYPE },
        }),
        markdownBlob.uploadData(Buffer.from(markdown, 'utf8'), {
          blobHTTPHeaders: { blobContentType: MARKDOWN_CONTENT_TYPE },
        }),
      ]);
      return { jsonBlob: jsonBlob.url, markdownBlob: markdownBlob.url };
    } catch (error) {
      throw new Error(`Could not write summary ${name} to container ${this.#container.containerName}`, {
        cause: error,
      });
    }
  }

  /** Creates the container once per writer; a failed attempt is retried by the next write. */
  #ensureContainer(): Promise<void> {
    this.#created ??= this.#container.createIfNotExists().then(
      () => undefined,
      (error: unknown) => {
        this.#created = undefined;
        throw error;
      },
    );
    return this.#created;
  }
}

function checkName(name: string): void {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  const bad = /[\\\u0000-\u001f\u007f-\u009f]/;
  if (name.length === 0 || name.length > MAX_NAME_CHARS || bad.test(name) || /[./]$/.test(name)) {
    throw new Error(
      `Summary name ${JSON.stringify(name)} is not a usable blob name: use 1 to ${MAX_NAME_CHARS} characters, no backslash or control characters, not ending in "." or "/"`,
    );
  }
}
