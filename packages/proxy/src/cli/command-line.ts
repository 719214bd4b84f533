import { checkWorkerCount } from '@dnsdist-ts/lua/lua/worker-settings.js';

/** dnsdist's command line, parsed. */
export interface CommandLine {
  config: string;
  checkConfig: boolean;
  /** -c / --client, with its optional address ("" = from the config's controlSocket). */
  client: string | undefined;
  execute: string | undefined;
  setKey: string | undefined;
  locals: string[];
  acls: string[];
  supervised: boolean;
  disableSyslog: boolean;
  uid: string | undefined;
  gid: string | undefined;
  verbose: boolean;
  version: boolean;
  help: boolean;
  /** Beyond dnsdist: which UDP implementation to use (auto, native, dgram). */
  udpIo: 'auto' | 'native' | 'dgram';
  /** Beyond dnsdist: data-plane workers (absent: setWorkers() in the configuration, else 1). */
  workers: number | undefined;
  backends: string[];
}

export const DEFAULT_CONFIG = '/etc/dnsdist/dnsdist.conf';

/** A command-line mistake; the message says which argument and what is expected. */
export class CommandLineError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CommandLineError';
  }
}

export const USAGE = `Syntax: dnsdist-ts [-C,--config file] [-c,--client [IP[:PORT]]]
[-e,--execute cmd] [-h,--help] [-l,--local addr]
[-v,--verbose] [--check-config] [--version]

-a,--acl netmask      Add this netmask to the ACL
-C,--config file      Load configuration from 'file'
-c,--client           Operate as a client, connect to dnsdist. This reads
                      controlSocket from your configuration file, but also
                      accepts an IP:PORT argument
-e,--execute cmd      Connect to dnsdist and execute 'cmd'
-g,--gid gid          Change the process group ID after binding sockets
-h,--help             Display this helpful message
-k,--setkey KEY       Use KEY for encrypted communication to dnsdist. This
                      is similar to setting setKey in the configuration file.
-l,--local address    Listen on this address
--supervised          Don't open a console, I'm supervised
                        (use with e.g. systemd and daemontools)
--disable-syslog      Don't log to syslog, only to stdout
                        (use with e.g. systemd)
-u,--uid uid          Change the process user ID after binding sockets
-v,--verbose          Enable verbose mode
-V,--version          Show dnsdist-ts's version and exit
--check-config        Validate the configuration file and exit. The exit-code
                      reflects the validation, 0 is OK, 1 means an error.
                      Any errors are printed as well.
--udp-io MODE         UDP implementation: auto (native addon when built),
                      native, dgram
--workers N           Answer queries in N data-plane worker threads, each
                      with its own SO_REUSEPORT listeners, the main thread
                      being the control plane (default: setWorkers() in the
                      configuration, else 1: one event loop does everything)
`;

const WITH_VALUE: Record<string, keyof CommandLine> = {
  '-C': 'config',
  '--config': 'config',
  '-e': 'execute',
  '--execute': 'execute',
  '-k': 'setKey',
  '--setkey': 'setKey',
  '-u': 'uid',
  '--uid': 'uid',
  '-g': 'gid',
  '--gid': 'gid',
  '--udp-io': 'udpIo',
  '--workers': 'workers',
};

/** Parse argv (without node and the script), getopt-style like dnsdist's. */
export function parseCommandLine(argv: string[]): CommandLine {
  const cl: CommandLine = {
    config: DEFAULT_CONFIG,
    checkConfig: false,
    client: undefined,
    execute: undefined,
    setKey: undefined,
    locals: [],
    acls: [],
    supervised: false,
    disableSyslog: false,
    uid: undefined,
    gid: undefined,
    verbose: false,
    version: false,
    help: false,
    udpIo: 'auto',
    workers: undefined,
    backends: [],
  };
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i]!;
    let inline: string | undefined;
    if (arg.startsWith('--') && arg.includes('=')) {
      inline = arg.slice(arg.indexOf('=') + 1);
      arg = arg.slice(0, arg.indexOf('='));
    } else if (/^-[CekuglacC]./.test(arg) && !arg.startsWith('--')) {
      inline = arg.slice(2);
      arg = arg.slice(0, 2);
    }
    const value = (): string => {
      if (inline !== undefined) return inline;
      const v = argv[++i];
      if (v === undefined) throw new CommandLineError(`option '${arg}' needs a value`);
      return v;
    };
    if (arg in WITH_VALUE) {
      const key = WITH_VALUE[arg]!;
      const v = value();
      if (key === 'udpIo') {
        if (v !== 'auto' && v !== 'native' && v !== 'dgram') {
          throw new CommandLineError(`--udp-io must be auto, native or dgram, got '${v}'`);
        }
        cl.udpIo = v;
      } else if (key === 'workers') {
        try {
          cl.workers = checkWorkerCount('--workers', v);
        } catch (err) {
          throw new CommandLineError((err as Error).message);
        }
      } else (cl as unknown as Record<string, unknown>)[key] = v;
      if (key === 'execute') cl.client ??= '';
      continue;
    }
    switch (arg) {
      case '-l':
      case '--local':
        cl.locals.push(value());
        break;
      case '-a':
      case '--acl':
        cl.acls.push(value());
        break;
      case '-c':
      case '--client':
        // The address is optional and only taken when attached (-cADDR, --client=ADDR), as getopt does.
        cl.client = inline ?? '';
        break;
      case '--check-config':
        cl.checkConfig = true;
        break;
      case '--supervised':
        cl.supervised = true;
        break;
      case '--disable-syslog':
        cl.disableSyslog = true;
        break;
      case '-v':
      case '--verbose':
        cl.verbose = true;
        break;
      case '-V':
      case '--version':
        cl.version = true;
        break;
      case '-h':
      case '--help':
        cl.help = true;
        break;
      default:
        if (arg.startsWith('-') && arg !== '-') throw new CommandLineError(`unknown option '${arg}' (see --help)`);
        cl.backends.push(arg);
    }
  }
  return cl;
}
