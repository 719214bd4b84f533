import { DNSName } from '@dnsdist-ts/dns';
import type { CheckQueryFunction } from '@dnsdist-ts/dataplane/backend/downstream-server.js';
import { ScriptHeader } from '@dnsdist-ts/dataplane/query/script-view.js';
import { LuaDNSName } from './lua-dns-name.js';
import { LuaFunctionRef } from './lua-runtime.js';

/**
 * newServer{checkFunction=function(qname, qtype, qclass, dh) … return qname, qtype, qclass end}:
 * the Lua function rewrites each health check's question and header flags.
 * The header object is dnsdist's DNSHeader (dh:setCD(true), dh:getRD()…).
 */
export function checkFunctionFrom(value: unknown): CheckQueryFunction | undefined {
  if (value === undefined) return undefined;
  if (!(value instanceof LuaFunctionRef)) {
    throw new Error("newServer: 'checkFunction' must be a function(qname, qtype, qclass, dh) returning qname, qtype, qclass");
  }
  return (question, header) => {
    const dh = new ScriptHeader({ packet: () => header });
    const [name, qtype, qclass] = value.call(new LuaDNSName(DNSName.fromString(question.name)), question.qtype, question.qclass, dh);
    const nameText = name instanceof LuaDNSName ? name.name.toString() : typeof name === 'string' ? name : undefined;
    if (nameText === undefined || typeof qtype !== 'number' || typeof qclass !== 'number') {
      throw new Error('the checkFunction must return qname (a DNSName or a string), qtype and qclass');
    }
    return { name: nameText, qtype, qclass };
  };
}
