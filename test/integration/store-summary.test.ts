/**
 * BlobSummaryWriter on Azurite: both blobs written, read back, with the right content types.
 */
import { randomBytes } from 'node:crypto';
import { BlobServiceClient } from '@azure/storage-blob';
import { describe, expect, inject, it } from 'vitest';
import { BlobSummaryWriter, JSON_CONTENT_TYPE, MARKDOWN_CONTENT_TYPE } from '../../lib/store/summary-blob.js';
import { createStorage } from '../../lib/store/table-clients.js';

const connectionString = inject('storageConnectionString');
const service = BlobServiceClient.fromConnectionString(connectionString);
const containerName = () => `sum-${randomBytes(6).toString('hex')}`;

async function readBlob(container: string, name: string) {
  const blob = service.getContainerClient(container).getBlobClient(name);
  const [properties, body] = await Promise.all([blob.getProperties(), blob.downloadToBuffer()]);
  return { contentType: properties.contentType, text: body.toString('utf8') };
}

describe('BlobSummaryWriter', () => {
  it('creates the container and writes JSON and Markdown with their content types', async () => {
    const container = containerName();
    expect(await service.getContainerClient(container).exists()).toBe(false);
    const writer = BlobSummaryWriter.fromConnectionString(connectionString, container);
    const summary = { run: 'reconcile', counts: { ASSIGNED: 3, UNCHANGED: 40 }, note: 'Zoë — ✓' };
    const markdown = '# Reconcile\n\n| outcome | users |\n|---|---|\n| ASSIGNED | 3 |\n\nZoë — ✓\n';

    const written = await writer.write('reconcile/2024-05-01T10-00-00Z', summary, markdown);

    expect(written.jsonBlob.endsWith(`/${container}/reconcile/2024-05-01T10-00-00Z.json`)).toBe(true);
    expect(written.markdownBlob.endsWith(`/${container}/reconcile/2024-05-01T10-00-00Z.md`)).toBe(true);
    const json = await readBlob(container, 'reconcile/2024-05-01T10-00-00Z.json');
    expect(json.contentType).toBe(JSON_CONTENT_TYPE);
    expect(JSON.parse(json.text)).toEqual(summary);
    const md = await readBlob(container, 'reconcile/2024-05-01T10-00-00Z.md');
    expect(md.contentType).toBe(MARKDOWN_CONTENT_TYPE);
    expect(md.text).toBe(markdown);
  });

  it('uses an existing container and replaces a summary written under the same name', async () => {
    const container = containerName();
    await service.getContainerClient(container).create();
    const writer = BlobSummaryWriter.fromConnectionString(connectionString, container);
    await writer.write('cleanup', { n: 1 }, 'first');
    // A second writer (another instance) on the same container.
    await BlobSummaryWriter.fromConnectionString(connectionString, container).write(
      'cleanup',
      { n: 2 },
      'second',
    );
    expect(JSON.parse((await readBlob(container, 'cleanup.json')).text)).toEqual({ n: 2 });
    expect((await readBlob(container, 'cleanup.md')).text).toBe('second');
  });

  it('refuses unusable names and unserialisable JSON before writing anything', async () => {
    const container = containerName();
    const writer = BlobSummaryWriter.fromConnectionString(connectionString, container);
    await expect(writer.write('', {}, '')).rejects.toThrow(/not a usable blob name/);
    await expect(writer.write('runs/', {}, '')).rejects.toThrow(/not a usable blob name/);
    await expect(writer.write('a\\b', {}, '')).rejects.toThrow(/not a usable blob name/);
    await expect(writer.write('run', undefined, '')).rejects.toThrow(/not serialisable/);
    expect(await service.getContainerClient(container).exists()).toBe(false);
  });

  it('is what createStorage wires as summaries, in the container it is given', async () => {
    const container = containerName();
    const storage = createStorage(
      { connectionString, tablePrefix: `b${randomBytes(4).toString('hex')}` },
      undefined,
      { summaryContainer: container },
    );
    await storage.summaries.write('delta', ['a'], '- a');
    expect((await readBlob(container, 'delta.json')).contentType).toBe(JSON_CONTENT_TYPE);
    expect((await readBlob(container, 'delta.md')).text).toBe('- a');
  });
});
