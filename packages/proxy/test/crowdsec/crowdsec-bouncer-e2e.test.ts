/**
 * setCrowdSecBouncer in a real dnsdist-ts configuration against a real
 * Local API: the decision shows in /metrics, the API's block list and the
 * console with its origin; bad options stop the configuration.
 */
import { once } from 'node:events';
import { loadConfigurationOutput } from '../support/proxy-harness.js';
import { getJson, httpRequest } from '../web/http-client.js';
import { parsePrometheusText } from '../web/prometheus-text-parser.js';
import { startWebProxy } from '../web/web-harness.js';
import { describeRequires } from '../../../../test/support/require.js';
import { uniqueName } from '../../../../test/support/require-bpf.js';
import { startCrowdSec, type RunningCrowdSec } from '../../../../test/support/crowdsec.js';
import { crowdsec, cscli } from '../../../../test/support/requirements.js';

const KEY = { apiKey: 'key' };

describeRequires('setCrowdSecBouncer in a configuration', [crowdsec, cscli], () => {
  let lapi: RunningCrowdSec;

  beforeAll(async () => {
    lapi = await startCrowdSec();
  }, 60_000);
  afterAll(async () => {
    await lapi?.stop();
  });

  it('a decision is a block with the bouncer as origin in the console, the API and /metrics', async () => {
    lapi.cli('decisions', 'add', '--ip', '192.0.2.70', '--duration', '1h', '--reason', 'scan');
    lapi.cli('decisions', 'add', '--range', '0.0.0.0/1', '--duration', '1h');
    const p = await startWebProxy(
      `webserver("127.0.0.1:0")
       setWebserverConfig({password="pw", apiKey="key"})
       setCrowdSecBouncer{url="\${LAPI}", apiKey="\${BOUNCER}", interval=3600, origin="cs-lapi"}`,
      { LAPI: lapi.url, BOUNCER: lapi.addBouncer(uniqueName('e')) },
    );
    try {
      if (p.app.crowdsec.stats().lastPoll === 0) await once(p.app.crowdsec.events, 'polled');
      expect(p.app.runConsoleCommand('showDynBlocks()')).toMatch(/^192\.0\.2\.70\/32 .* cs-lapi +scan \(cscli\)$/m);
      expect(p.app.runConsoleCommand('showCrowdSecBouncer()')).toMatch(
        /^CrowdSec Local API http:\/\/127\.0\.0\.1:\d+\/: connected; .*\nDecisions applied 1, removed 0, refused: range=1;/,
      );
      const list = await getJson<Record<string, { origin?: string; reason: string }>>(p.web, '/jsonstat?command=dynblocklist', KEY);
      expect(list['192.0.2.70/32']).toMatchObject({ origin: 'cs-lapi', reason: 'scan (cscli)' });
      const m = parsePrometheusText((await httpRequest(p.web, '/metrics', KEY)).body);
      const v = (name: string, labels: Record<string, string> = {}) =>
        m.get(name)?.samples.find((s) => Object.entries(labels).every(([k, x]) => s.labels[k] === x))?.value;
      expect(v('dnsdist_ts_crowdsec_connected')).toBe(1);
      expect(v('dnsdist_ts_crowdsec_decisions_applied_total')).toBe(1);
      expect(v('dnsdist_ts_crowdsec_decisions_removed_total')).toBe(0);
      expect(v('dnsdist_ts_crowdsec_decisions_refused_total', { reason: 'range' })).toBe(1);
      expect(v('dnsdist_ts_crowdsec_active_decisions')).toBe(1);
      expect(v('dnsdist_ts_crowdsec_last_poll_timestamp_seconds')).toBeGreaterThan(Date.now() / 1000 - 60);
    } finally {
      await p.stop();
    }
  });

  it('bad options (bouncer and watcher) stop the configuration with the option named; --check-config polls and sends nothing', async () => {
    await expect(loadConfigurationOutput('setCrowdSecBouncer{url="redis://127.0.0.1:1", apiKey="k"}')).rejects.toThrow(
      /setCrowdSecBouncer: option 'url' must start with http:\/\/ or https:\/\//,
    );
    await expect(loadConfigurationOutput('setCrowdSecBouncer{url="http://127.0.0.1:1/"}')).rejects.toThrow(
      /setCrowdSecBouncer: option 'apiKey' is required/,
    );
    await expect(loadConfigurationOutput('setCrowdSecBouncer{url="http://127.0.0.1:1/", apiKey="k", intervall=5}')).rejects.toThrow(
      /setCrowdSecBouncer: unknown option 'intervall'/,
    );
    await expect(
      loadConfigurationOutput('setCrowdSecBouncer{url="http://127.0.0.1:1/", apiKey="k", actions={ban="Spoof"}}'),
    ).rejects.toThrow(/setCrowdSecBouncer: option 'actions' maps "ban" to "Spoof"; the actions are "Drop"/);
    await expect(
      loadConfigurationOutput('setCrowdSecWatcher{url="http://127.0.0.1:1/", machineId="m", password="p", share={"fleet"}}'),
    ).rejects.toThrow(/setCrowdSecWatcher: option 'share' has "fleet"; the sources are "rules", "lua", "api"/);
    await expect(loadConfigurationOutput('setCrowdSecWatcher{url="http://127.0.0.1:1/", machineId="m"}')).rejects.toThrow(
      /setCrowdSecWatcher: option 'password' is required/,
    );
    await expect(
      loadConfigurationOutput('setCrowdSecWatcher{url="http://127.0.0.1:1/", machineId="m", password="p", scenarios="x"}'),
    ).rejects.toThrow(/setCrowdSecWatcher: unknown option 'scenarios'/);
    const out = await loadConfigurationOutput(
      'setCrowdSecBouncer{url="http://127.0.0.1:1/", apiKey="k"} setCrowdSecWatcher{url="http://127.0.0.1:1/", machineId="m", password="p"}',
    );
    expect(out.join('\n')).not.toMatch(/CrowdSec/);
  });
});
