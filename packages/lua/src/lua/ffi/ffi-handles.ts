/**
 * What dnsdist's opaque FFI pointers stand for here: the objects behind a
 * `dnsdist_ffi_dnsquestion_t *` (also passed as `dnsdist_ffi_dnsresponse_t *`
 * to response functions), a policy's servers list and its servers.
 */
import type { DownstreamServer } from '@dnsdist-ts/dataplane/backend/downstream-server.js';
import { ScriptView } from '@dnsdist-ts/dataplane/query/script-view.js';

/** The question (or response) an FFI function was called with, and what the call set on it. */
export class FfiQuestion {
  readonly view: ScriptView;
  /** dnsdist_ffi_dnsquestion_set_result: the string LuaFFIAction returns with its code. */
  result: string | undefined = undefined;

  constructor(kind: 'DNSQuestion' | 'DNSResponse') {
    this.view = new ScriptView(kind);
  }

  /** Point at nothing again after the call (a kept pointer then fails clearly). */
  detach(): void {
    this.view.detach();
    this.result = undefined;
  }
}

/** A server policy's `dnsdist_ffi_servers_list_t *`: the pool's servers, in pool order. */
export class FfiServersList {
  servers: readonly DownstreamServer[] = [];
  /** One handle per server position, made on first use and kept. */
  readonly handles: FfiServer[] = [];
  attached = false;
}

/** A `dnsdist_ffi_server_t *` from dnsdist_ffi_servers_list_get_server. */
export class FfiServer {
  constructor(readonly server: DownstreamServer) {}
}
