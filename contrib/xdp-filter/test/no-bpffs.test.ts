import { fileURLToPath } from 'node:url';
import { runWithoutBpffs } from '../../../test/support/no-bpffs.js';
import { describeBpf, uniqueName } from '../../../test/support/require-bpf.js';

const cli = fileURLToPath(new URL('../../../bin/xdp-filter', import.meta.url));

describeBpf('xdp-filter without bpffs', () => {
  it.each([
    ['attach', ['attach', '--iface', 'lo', '--mode', 'generic'], 'name-index'],
    ['block', ['block', '--action', 'drop', '--addr', '192.0.2.1'], 'addr-v4'],
  ])('%s stops at once with the path and the mount command', (_name, args, first) => {
    const pinDir = `/sys/fs/bpf/${uniqueName('dtsn')}/dnsdist`;
    const r = runWithoutBpffs([cli, ...args, '--pin-dir', pinDir]);
    expect(r.timedOut).toBe(false);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      `xdp-filter: Unable to pin map to path '${pinDir}/${first}': no bpffs is mounted at /sys/fs/bpf; mount it (mount -t bpf bpf /sys/fs/bpf) and try again\n`,
    );
  });
});
