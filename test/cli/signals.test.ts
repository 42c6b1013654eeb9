/** The CLI's stop signals: first stops, second says wait, third forces; npm's duplicate counts once. */
import { describe, expect, it } from 'vitest';
import { forcedExitCode, installStopSignals, SignalCounter } from '../../src/cli/signals.js';

describe('SignalCounter', () => {
  it('stop, wait, force; a repeat of the same signal within the coalescing window counts once', () => {
    const c = new SignalCounter(50);
    expect(c.receive(1000, 'SIGINT')).toBe('stop');
    expect(c.receive(1002, 'SIGINT')).toBe('ignore'); // npm forwarding the same Ctrl-C
    expect(c.receive(1300, 'SIGINT')).toBe('wait');
    expect(c.receive(1310, 'SIGINT')).toBe('ignore');
    expect(c.receive(1600, 'SIGINT')).toBe('force');
    expect(c.receive(1900, 'SIGINT')).toBe('force');
  });

  it('a different signal always counts, however soon', () => {
    const c = new SignalCounter(50);
    expect(c.receive(0, 'SIGINT')).toBe('stop');
    expect(c.receive(1, 'SIGTERM')).toBe('wait');
    expect(c.receive(2, 'SIGINT')).toBe('force');
  });

  it('a stop requested without a signal (stdout closed) counts as the first', () => {
    const c = new SignalCounter(50);
    c.stopRequested();
    expect(c.receive(0, 'SIGTERM')).toBe('wait');
    expect(c.receive(100, 'SIGTERM')).toBe('force');
  });

  it('forced exit codes are 128 + the signal number', () => {
    expect(forcedExitCode('SIGINT')).toBe(130);
    expect(forcedExitCode('SIGTERM')).toBe(143);
  });
});

describe('installStopSignals', () => {
  it('aborts on the first signal, reports the second, forces on the third, and removes its handlers', async () => {
    const seen: string[] = [];
    let t = 0;
    const stop = installStopSignals({
      signals: ['SIGUSR2'],
      now: () => (t += 1000),
      onStop: (reason) => seen.push(`stop ${reason}`),
      onWait: (sig) => seen.push(`wait ${sig}`),
      onForce: (sig, code) => seen.push(`force ${sig} ${code}`),
      exit: ((code: number) => {
        seen.push(`exit ${code}`);
      }) as (code: number) => never,
    });
    const before = process.listenerCount('SIGUSR2');
    for (let i = 0; i < 3; i++) {
      process.kill(process.pid, 'SIGUSR2');
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(stop.signal.aborted).toBe(true);
    expect(stop.reason).toBe('SIGUSR2');
    expect(seen).toEqual(['stop SIGUSR2', 'wait SIGUSR2', `force SIGUSR2 ${128 + 15}`, `exit ${128 + 15}`]);
    stop.dispose();
    expect(process.listenerCount('SIGUSR2')).toBe(before - 1);
  });
});
