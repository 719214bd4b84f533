/**
 * BackendStatesByChange, pure logic: a data-plane worker applies the control
 * plane's backend states, sent by position, only once it has run the same
 * configuration changes, so a list from before (or after) a newServer or an
 * rmServer never lands on the wrong backend.
 */
import { BackendStatesByChange } from '@dnsdist-ts/workers/workers/backend-states-by-change.js';

describe('BackendStatesByChange', () => {
  it('applies the list it starts with, which follows the changes the worker replays', () => {
    const states = new BackendStatesByChange({ up: [true, false], change: 4 });
    expect(states.current()).toEqual([true, false]);
  });

  it('keeps a list from a change this worker has not run, and applies it when it runs that change', () => {
    const states = new BackendStatesByChange({ up: [false, true], change: 0 });
    // The control plane ran newServer (change 1) and sent three states before this worker ran it.
    expect(states.received({ up: [false, true, true], change: 1 })).toBeUndefined();
    expect(states.current()).toBeUndefined();
    expect(states.ran(1)).toEqual([false, true, true]);
    expect(states.received({ up: [false, true, false], change: 1 })).toEqual([false, true, false]);
  });

  it('drops a list from before a change this worker ran, and waits for the one after it', () => {
    const states = new BackendStatesByChange({ up: [false, true], change: 0 });
    // This worker ran change 1 (newServer) before the list for it came.
    expect(states.ran(1)).toBeUndefined();
    // A list sent before change 1 (two backends) must not be laid over the three here.
    expect(states.received({ up: [false, true], change: 0 })).toBeUndefined();
    expect(states.current()).toBeUndefined();
    expect(states.received({ up: [false, true, true], change: 1 })).toEqual([false, true, true]);
    expect(states.current()).toEqual([false, true, true]);
  });

  it('applies nothing for a change whose list was overtaken by a later one', () => {
    const states = new BackendStatesByChange({ up: [true], change: 0 });
    expect(states.received({ up: [true, true, false], change: 2 })).toBeUndefined();
    // Change 1 ran here: the list held is for change 2.
    expect(states.ran(1)).toBeUndefined();
    expect(states.ran(2)).toEqual([true, true, false]);
  });
});
