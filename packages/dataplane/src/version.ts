/** dnsdist-ts's version, and the dnsdist release whose behaviour it follows. */
export const VERSION = '0.1.0';
export const COMPATIBLE_DNSDIST_VERSION = '1.7.3';
