/**
 * dnsdist's console: the encrypted control socket (server), the client
 * behind `-c`/`-e`, key handling and the wire protocol pieces. Lua-free:
 * the proxy wires controlSocket(), setKey(), makeKey() and friends to it.
 */
export { DEFAULT_CONSOLE_PORT, formatConsoleAddress, parseConsoleAddress, type ConsoleAddress } from './console-address.js';
export { ConsoleClient, type ConsoleClientOptions, type ConsoleInteractiveOptions, type ConsoleSessionEnd } from './console-client.js';
export {
  CONSOLE_MAC_BYTES,
  CONSOLE_NONCE_BYTES,
  ConsoleCipher,
  incrementConsoleNonce,
  loadConsoleCrypto,
  mergeConsoleNonces,
  newConsoleNonce,
  type ConsoleRole,
} from './console-crypto.js';
export {
  ConsoleAddressError,
  ConsoleConnectionError,
  ConsoleDecryptError,
  ConsoleFrameTooLargeError,
  ConsoleKeyError,
  ConsoleKeyMismatchError,
  type ConsoleConnectionFailure,
} from './console-errors.js';
export {
  CONSOLE_FRAME_HEADER_BYTES,
  CONSOLE_PING_FRAME,
  ConsoleFrameReader,
  DEFAULT_CONSOLE_MAX_MESSAGE_SIZE,
  encodeConsoleFrame,
  encodeConsoleFrameHeader,
} from './console-framing.js';
export type { ConsoleLog, ConsoleLogLevel, ConsoleRunner, ConsoleRunOptions } from './console-hooks.js';
export { capConsoleReply, ConsoleReplyBuilder, consoleReplyCutNote } from './console-reply.js';
export { CONSOLE_KEY_BYTES, isValidConsoleKey, makeKey, parseConsoleKey } from './console-key.js';
export { ConsoleSettings, type ConsoleLiveOptions } from './console-settings.js';
export {
  ConsoleServer,
  DEFAULT_CONSOLE_HANDSHAKE_TIMEOUT_MS,
  DEFAULT_CONSOLE_MAX_CONNECTIONS,
  defaultConsoleACL,
  type ConsoleServerOptions,
} from './console-server.js';
