import { existsSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { openImage } from '@ovl/image';
import { commitMount } from '../commit.js';
import type { Driver } from '../driver.js';
import { OvlError } from '../errors.js';
import { LayerDb } from '../layer-db.js';
import { mountLayer, unmountTarget } from '../mount.js';
import { MountRecords } from '../mount-records.js';
import { open } from '../open.js';
import { withStoreLock } from '../store-lock.js';
import { flattenImage, layerIdOf, unpackImage } from '../unpack.js';
import { humanBytes } from './format.js';
import type { CliContext } from './main.js';
import { layerReporter, progressMode } from './progress.js';
import { drawTree } from './tree.js';

const usage = (message: string) => new OvlError('ERR_OVL_USAGE', message);

function need(ctx: CliContext, n: number, names: string): string[] {
  if (ctx.args.length !== n) throw usage(`${ctx.command} takes ${names}`);
  return ctx.args;
}

function openStore(ctx: CliContext): Promise<Driver> {
  return open(ctx.store, { driver: ctx.driver });
}

const print = (ctx: CliContext, json: unknown, text: string) =>
  ctx.out(ctx.json ? `${JSON.stringify(json)}\n` : text);

/** IMAGE|LAYER: a path that exists is an image (unpacked first, reusing what the store has); else a layer ID. */
async function resolveLayer(
  ctx: CliContext,
  driver: Driver,
  arg: string,
): Promise<{ layer: string; image?: string }> {
  if (existsSync(arg)) {
    const { top } = await unpackImage(driver, arg, {
      platform: ctx.platform,
      onProgress: layerReporter(progressMode(ctx.json, ctx.quiet)),
    });
    return { layer: top, image: arg };
  }
  if (await driver.exists(arg)) return { layer: arg };
  throw new OvlError(
    'ERR_OVL_LAYER_NOT_FOUND',
    `${arg} is neither an image path nor a layer in ${ctx.store} (see ovl ls)`,
  );
}

export async function runCommand(ctx: CliContext): Promise<void> {
  switch (ctx.command) {
    case 'unpack': {
      const [image] = need(ctx, 1, 'IMAGE');
      const driver = await openStore(ctx);
      const result = await unpackImage(driver, image as string, {
        platform: ctx.platform,
        onProgress: layerReporter(progressMode(ctx.json, ctx.quiet)),
      });
      print(ctx, { driver: driver.name, store: ctx.store, ...result }, `${result.top}\n`);
      return;
    }
    case 'mount': {
      const [what, target] = need(ctx, 2, 'IMAGE|LAYER TARGET');
      const driver = await openStore(ctx);
      const { layer, image } = await resolveLayer(ctx, driver, what as string);
      const result = await mountLayer(driver, layer, target as string, {
        readWrite: ctx.rw,
        image,
        platform: image === undefined ? undefined : ctx.platform,
      });
      print(
        ctx,
        result,
        `${result.readWrite ? 'read-write' : 'read-only'} mount of ${layer} at ${result.target}${result.readWrite ? ` (upper layer ${result.layer})` : ''}\n`,
      );
      return;
    }
    case 'umount': {
      const [target] = need(ctx, 1, 'TARGET');
      const result = await unmountTarget(await openStore(ctx), target as string);
      print(ctx, result, `unmounted ${result.target}\n`);
      return;
    }
    case 'flatten': {
      const [image, dir] = need(ctx, 2, 'IMAGE DIR');
      const result = await flattenImage(image as string, dir as string, {
        platform: ctx.platform,
        onProgress: layerReporter(progressMode(ctx.json, ctx.quiet)),
      });
      print(
        ctx,
        { dir, ...result },
        `${dir}: ${result.layers} layers, ${result.entries} entries, ${humanBytes(result.bytes)}\n`,
      );
      return;
    }
    case 'diff': {
      const [layer] = need(ctx, 1, 'LAYER');
      const driver = await openStore(ctx);
      const parent = (await new LayerDb(driver.home).get(layer as string))?.parent;
      if (process.stdout.isTTY)
        throw usage('diff writes a tar to stdout: redirect it (ovl diff LAYER > layer.tar)');
      await pipeline(driver.diff(layer as string, parent), process.stdout);
      return;
    }
    case 'commit': {
      const [target] = need(ctx, 1, 'TARGET');
      const result = await commitMount(await openStore(ctx), target as string, {
        oci: ctx.oci,
        ref: ctx.ref,
      });
      print(
        ctx,
        result,
        `${result.layer}${result.oci ? `\nOCI image written to ${result.oci.dir} (${result.oci.manifestDigest})` : ''}\n`,
      );
      return;
    }
    case 'changes': {
      const [layer] = need(ctx, 1, 'LAYER');
      const driver = await openStore(ctx);
      const parent = (await new LayerDb(driver.home).get(layer as string))?.parent;
      const changes = await driver.changes(layer as string, parent);
      const mark = { add: 'A', modify: 'C', delete: 'D' } as const;
      print(ctx, changes, changes.map((c) => `${mark[c.kind]} ${c.path}\n`).join(''));
      return;
    }
    case 'ls': {
      need(ctx, 0, 'no arguments');
      const driver = await openStore(ctx);
      const layers = await new LayerDb(driver.home).list();
      if (ctx.json) return print(ctx, layers, '');
      if (ctx.tree) return ctx.out(drawTree(layers));
      ctx.out(
        layers
          .map(
            (l) =>
              `${l.id}  ${humanBytes(l.size).padStart(10)}  ${l.parent ?? '-'}${l.readWrite ? '  (rw)' : ''}\n`,
          )
          .join(''),
      );
      return;
    }
    case 'rm': {
      const [layer] = need(ctx, 1, 'LAYER');
      const driver = await openStore(ctx);
      // under the store lock: an unpack in progress may be building on this layer
      await withStoreLock(driver.home, async () => {
        const db = new LayerDb(driver.home);
        const children = (await db.list()).filter((l) => l.parent === layer);
        if (children.length) {
          throw new OvlError(
            'ERR_OVL_LAYER_IN_USE',
            `layer ${layer} has child layers (${children.map((c) => c.id.slice(0, 12)).join(', ')}): remove them first`,
          );
        }
        const mounted = (await new MountRecords(driver.home).list()).find((m) => m.layer === layer);
        if (mounted)
          throw new OvlError(
            'ERR_OVL_LAYER_IN_USE',
            `layer ${layer} is mounted at ${mounted.target}: ovl umount it first`,
          );
        if (!(await driver.exists(layer as string)))
          throw new OvlError('ERR_OVL_LAYER_NOT_FOUND', `layer ${layer} is not in ${ctx.store}`);
        await driver.remove(layer as string);
        await db.delete(layer as string);
      });
      print(ctx, { removed: layer }, `removed ${layer}\n`);
      return;
    }
    case 'status': {
      need(ctx, 0, 'no arguments');
      const driver = await openStore(ctx);
      const status = await driver.status();
      // which driver `auto` chose is the first thing a user asks; not every driver's status says it
      if (!status.some(([k]) => k === 'Driver')) status.unshift(['Driver', driver.name]);
      print(ctx, Object.fromEntries(status), status.map(([k, v]) => `${k}: ${v}\n`).join(''));
      return;
    }
    case 'inspect': {
      const [image] = need(ctx, 1, 'IMAGE');
      const img = await openImage(image as string, { platform: ctx.platform });
      const info = {
        platform: img.platform,
        layers: img.layers.map((l) => ({
          id: layerIdOf(l.chainId),
          digest: l.digest,
          diffId: l.diffId,
          size: l.size,
          compression: l.compression,
        })),
      };
      print(
        ctx,
        info,
        info.layers
          .map((l) => `${l.id}  ${l.compression.padEnd(4)} ${humanBytes(l.size).padStart(10)}  ${l.digest}\n`)
          .join(''),
      );
      return;
    }
    default:
      throw usage(`unknown command "${ctx.command}"`);
  }
}
