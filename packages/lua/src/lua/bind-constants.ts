import { QType } from '@dnsdist-ts/dns';
import { DNSAction, DNSResponseAction } from '@dnsdist-ts/dataplane/query/dns-action.js';
import type { LuaRuntime } from './lua-runtime.js';

/** The constant tables dnsdist configurations use: DNSQType, DNSRCode, DNSClass, DNSOpcode, DNSAction… */
export function registerConstants(rt: LuaRuntime): void {
  rt.setGlobal('DNSQType', new Map(Object.entries(QType)));
  rt.setGlobal(
    'DNSRCode',
    new Map(
      Object.entries({
        NOERROR: 0,
        FORMERR: 1,
        SERVFAIL: 2,
        NXDOMAIN: 3,
        NOTIMP: 4,
        REFUSED: 5,
        YXDOMAIN: 6,
        YXRRSET: 7,
        NXRRSET: 8,
        NOTAUTH: 9,
        NOTZONE: 10,
        BADVERS: 16,
        BADSIG: 16,
        BADKEY: 17,
        BADTIME: 18,
        BADMODE: 19,
        BADNAME: 20,
        BADALG: 21,
        BADTRUNC: 22,
        BADCOOKIE: 23,
      }),
    ),
  );
  rt.setGlobal('DNSClass', new Map(Object.entries({ IN: 1, CHAOS: 3, NONE: 254, ANY: 255 })));
  rt.setGlobal('DNSOpcode', new Map(Object.entries({ Query: 0, IQuery: 1, Status: 2, Notify: 4, Update: 5 })));
  rt.setGlobal('DNSAction', new Map(Object.entries(DNSAction)));
  rt.setGlobal('DNSResponseAction', new Map(Object.entries(DNSResponseAction)));
  rt.setGlobal('DNSSection', new Map(Object.entries({ Question: 0, Answer: 1, Authority: 2, Additional: 3 })));
}
