/**
 * systemd's readiness protocol (sd_notify(3), for a Type=notify unit):
 * READY=1 once the listeners are up and -u/-g has switched users, STOPPING=1
 * when a stop begins. The datagram goes through the UDP addon (node cannot
 * send on AF_UNIX datagram sockets).
 */
import { loadNativeUdpAddon } from '@dnsdist-ts/dataplane/io/native-udp-addon.js';

interface NotifyBinding {
  sdNotify(socketPath: string, message: string): void;
}

/** Sends service states to the supervisor named by NOTIFY_SOCKET. */
export class ServiceNotifier {
  readonly #socket: string;
  readonly #send: (socket: string, message: string) => void;
  readonly #warn: (line: string) => void;

  constructor(socket: string, send: (socket: string, message: string) => void, warn: (line: string) => void) {
    this.#socket = socket;
    this.#send = send;
    this.#warn = warn;
  }

  /**
   * The notifier for this process, or undefined when no supervisor asked
   * (NOTIFY_SOCKET unset). Without the addon, says once that readiness
   * cannot be reported, so a Type=notify unit's time-out is explained.
   */
  static fromEnvironment(env: NodeJS.ProcessEnv, warn: (line: string) => void): ServiceNotifier | undefined {
    const socket = env.NOTIFY_SOCKET;
    if (!socket) return undefined;
    let binding: Partial<NotifyBinding> | undefined;
    try {
      binding = loadNativeUdpAddon() as unknown as Partial<NotifyBinding>;
    } catch {
      binding = undefined;
    }
    if (typeof binding?.sdNotify !== 'function') {
      warn(
        `NOTIFY_SOCKET is set but the UDP addon (which sends to it) is not built: the supervisor will not hear READY=1; build it, or use Type=exec`,
      );
      return undefined;
    }
    const b = binding as NotifyBinding;
    return new ServiceNotifier(socket, (s, m) => b.sdNotify(s, m), warn);
  }

  /** Send `state` (such as "READY=1"); a failure is reported, never thrown: serving matters more. */
  notify(state: string): void {
    try {
      this.#send(this.#socket, state);
    } catch (err) {
      this.#warn(`Could not tell the supervisor '${state}' through NOTIFY_SOCKET ${this.#socket}: ${(err as Error).message}`);
    }
  }
}
