/**
 * A machine the visualizer has no code for (a stand-in for any new chart): the graph, layout and
 * browser tests draw it to prove nothing about the set of machines is hard-wired.
 */
import { createMachine } from 'xstate';

export const connectionStandIn = createMachine({
  id: 'connectionStandIn',
  initial: 'connecting',
  states: {
    connecting: { on: { OPENED: 'open', FAILED: 'reconnecting' } },
    open: { on: { SUBSCRIBE: 'subscribing', CLOSED: 'reconnecting' } },
    subscribing: { on: { SUBSCRIBED: 'subscribed', CLOSED: 'reconnecting' } },
    subscribed: { on: { CLOSED: 'reconnecting', STOP: 'stopped' } },
    reconnecting: { after: { 500: 'connecting' }, on: { GIVE_UP: 'failed', STOP: 'stopped' } },
    stopped: { type: 'final' },
    failed: { type: 'final' },
  },
});
