/**
 * libsodium, initialised once before any DNSCrypt code runs: the Lua
 * functions that use it are synchronous, so its readiness is awaited at
 * module load rather than on each call.
 */
import sodium from 'libsodium-wrappers';

await sodium.ready;

export { sodium };
