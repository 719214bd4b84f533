import { startProxy, type RunningProxy } from '../support/proxy-harness.js';

describe('proxy protocol rules and actions in showRules', () => {
  let proxy: RunningProxy;
  afterAll(async () => {
    await proxy?.stop();
  });

  it("prints dnsdist 1.7.3's texts (read from 1.7.3's showRules) and refuses types outside 0-255", async () => {
    proxy = await startProxy(`setLocal("127.0.0.1:\${PORT}")
addAction(ProxyProtocolValueRule(2), SetProxyProtocolValuesAction({["1"]="a"}))
addAction(ProxyProtocolValueRule(3, "proxy"), SetAdditionalProxyProtocolValueAction(255, "x"))
`);
    const out = proxy.app.runConsoleCommand('showRules()');
    expect(out).toMatch(/proxy protocol value of type 2 is present\s+set Proxy-Protocol values/);
    expect(out).toMatch(/proxy protocol value of type 3 matches\s+add a Proxy-Protocol value of type 255/);
    expect(proxy.app.runConsoleCommand('SetAdditionalProxyProtocolValueAction(256, "x")')).toMatch(/out of range: use 0 to 255/);
    expect(proxy.app.runConsoleCommand('SetProxyProtocolValuesAction({["x"]="a"})')).toMatch(/must be a number from 0 to 255, got 'x'/);
    expect(proxy.app.runConsoleCommand('ProxyProtocolValueRule(-1)')).toMatch(/out of range/);
  });
});
