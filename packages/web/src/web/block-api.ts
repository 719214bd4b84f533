/**
 * The block API (beyond dnsdist, whose users hand-roll it with
 * registerWebHandler, issue #17637): list, add and remove dynamic blocks
 * over HTTP, through the dynamic-block engine, so the kernel maps and the
 * userspace table change together.
 *
 *     GET    /api/v1/servers/localhost/blocks
 *     POST   /api/v1/servers/localhost/blocks   {"kind": "address", "target": "192.0.2.1", "action": "Drop", "seconds": 60, "reason": "…"}
 *     DELETE /api/v1/servers/localhost/blocks?kind=address&target=192.0.2.1
 *
 * It sits under `/api/`, so it takes the API key only; POST and DELETE
 * also need `setAPIWritable(true)` (405 otherwise), like dnsdist's one
 * writing endpoint.
 *
 * A range or suffix wider than the block scope guard allows (0.0.0.0/0,
 * ".", see setDynBlocksRangeLimits) is refused with 422 and a body naming
 * the input and the setting to change.
 */
import { BlockScopeError } from '@dnsdist-ts/dynblocks/dynblocks/index.js';
import type { BlockKind, BlockRequest, DynBlockView, ObservabilityProviders } from '../metrics/observability-providers.js';
import type { JsonValue } from './json11-format.js';
import type { WebRequest } from './web-exchange.js';

export const BLOCK_API_PATH = '/api/v1/servers/localhost/blocks';

const KINDS: readonly BlockKind[] = ['address', 'range', 'name', 'suffix'];
/** Actions a dynamic block can take (dnsdist's setDynBlocksAction list). */
export const BLOCK_ACTIONS: readonly string[] = ['Drop', 'NoOp', 'Nxdomain', 'Refused', 'Truncate', 'NoRecurse'];
const DEFAULT_SECONDS = 10;
const MAX_SECONDS = 2 ** 31 - 1;
const DEFAULT_REASON = 'Blocked through the API';

/** A request the block API refuses; `input` is the offending value. */
export class BlockApiRequestError extends Error {
  readonly input: unknown;
  constructor(message: string, input: unknown) {
    super(message);
    this.name = new.target.name;
    this.input = input;
  }
}

/** The answer to one block API request. */
export interface BlockApiResult {
  readonly status: number;
  readonly body: JsonValue;
}

/** A block as the API lists it. */
export function blockJson(b: DynBlockView): { [key: string]: JsonValue } {
  return {
    action: b.action,
    blocks: b.blocks,
    ebpf: b.ebpf,
    kernelHits: b.kernelHits,
    key: b.key,
    kind: b.kind,
    reason: b.reason,
    seconds: b.seconds,
    warning: b.warning,
  };
}

function kindOf(value: unknown): BlockKind {
  if (typeof value === 'string' && (KINDS as readonly string[]).includes(value)) return value as BlockKind;
  throw new BlockApiRequestError(`"kind" must be one of ${KINDS.join(', ')}, got ${JSON.stringify(value)}`, value);
}

function targetOf(value: unknown): string {
  if (typeof value === 'string' && value.trim() !== '') return value.trim();
  throw new BlockApiRequestError(`"target" must be an address, a range or a name, got ${JSON.stringify(value)}`, value);
}

/** Read and check a POST body. */
export function parseBlockRequest(body: string): BlockRequest {
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch {
    throw new BlockApiRequestError('the body must be a JSON object such as {"kind": "address", "target": "192.0.2.1"}', body);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new BlockApiRequestError('the body must be a JSON object such as {"kind": "address", "target": "192.0.2.1"}', doc);
  }
  const o = doc as Record<string, unknown>;
  const unknown = Object.keys(o).filter((k) => !['kind', 'target', 'action', 'seconds', 'reason'].includes(k));
  if (unknown.length > 0) {
    throw new BlockApiRequestError(
      `unknown field(s) ${unknown.map((k) => `"${k}"`).join(', ')}: use kind, target, action, seconds, reason`,
      unknown,
    );
  }
  const action = o.action ?? 'Drop';
  if (typeof action !== 'string' || !BLOCK_ACTIONS.includes(action)) {
    throw new BlockApiRequestError(`"action" must be one of ${BLOCK_ACTIONS.join(', ')}, got ${JSON.stringify(action)}`, action);
  }
  const seconds = o.seconds ?? DEFAULT_SECONDS;
  if (typeof seconds !== 'number' || !Number.isInteger(seconds) || seconds < 1 || seconds > MAX_SECONDS) {
    throw new BlockApiRequestError(
      `"seconds" must be a whole number of seconds from 1 to ${MAX_SECONDS}, got ${JSON.stringify(seconds)}`,
      seconds,
    );
  }
  const reason = o.reason ?? DEFAULT_REASON;
  if (typeof reason !== 'string') throw new BlockApiRequestError(`"reason" must be a string, got ${JSON.stringify(reason)}`, reason);
  return { kind: kindOf(o.kind), target: targetOf(o.target), action, seconds, reason };
}

const NO_ENGINE: BlockApiResult = {
  status: 503,
  body: { error: 'no dynamic-block engine is running, so blocks cannot be added or removed here' },
};

/** Serve one block API request. */
export function handleBlockApi(req: WebRequest, providers: ObservabilityProviders): BlockApiResult {
  if (req.method === 'GET') return { status: 200, body: providers.activeBlocks().map(blockJson) };
  const engine = providers.blockControl();
  try {
    if (req.method === 'POST') {
      const request = parseBlockRequest(req.body);
      if (!engine) return NO_ENGINE;
      return { status: 201, body: blockJson(engine.addBlock(request)) };
    }
    // DELETE: the block is named in the query string (a body is unusual for DELETE).
    const kind = kindOf(req.getvars.get('kind'));
    const target = targetOf(req.getvars.get('target'));
    if (!engine) return NO_ENGINE;
    return engine.removeBlock(kind, target)
      ? { status: 200, body: { removed: true } }
      : { status: 404, body: { error: `there is no ${kind} block for "${target}"` } };
  } catch (err) {
    // Well-formed, but wider than the operator allows: the body names the input and the setting that would let it through.
    if (err instanceof BlockScopeError) return { status: 422, body: { error: err.message, input: err.input, setting: err.setting } };
    // The engine's own refusals (a malformed address, an unsupported kind) are the client's to fix too.
    return { status: 400, body: { error: (err as Error).message } };
  }
}
