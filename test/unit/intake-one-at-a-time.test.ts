import { describe, expect, it } from 'vitest';
import { OneAtATime } from '../../lib/intake/index.js';

/** A task the test finishes by hand, counting how often it was started. */
function heldTask() {
  let finish!: (error?: Error) => void;
  let starts = 0;
  const task = () => {
    starts += 1;
    return new Promise<void>((resolve, reject) => {
      finish = (error) => (error ? reject(error) : resolve());
    });
  };
  return { task, finish: (error?: Error) => finish(error), starts: () => starts };
}

describe('OneAtATime', () => {
  it('skips a task for a key whose task is still running, and runs other keys', async () => {
    const gate = new OneAtATime();
    const a = heldTask();
    const b = heldTask();
    const first = gate.run('7F105C7D-2DC5-4530-97CD-4E7AE6534C07', a.task);
    expect(first).toBeInstanceOf(Promise);
    expect(gate.run('7f105c7d-2dc5-4530-97cd-4e7ae6534c07', a.task)).toBe(null);
    const second = gate.run('a1b2c3d4-0000-4000-8000-000000000001', b.task);
    expect(second).toBeInstanceOf(Promise);
    expect([a.starts(), b.starts(), gate.running]).toEqual([1, 1, 2]);
    a.finish();
    await first;
    expect(gate.running).toBe(1);
    // Finished: the next one for the key runs.
    const again = gate.run('7f105c7d-2dc5-4530-97cd-4e7ae6534c07', a.task);
    expect(a.starts()).toBe(2);
    a.finish();
    b.finish();
    await Promise.all([again, second]);
    expect(gate.running).toBe(0);
  });

  it('frees the key when the task fails, even synchronously', async () => {
    const gate = new OneAtATime();
    const failing = gate.run('k', () => Promise.reject(new Error('reauthorize failed: 403')));
    await expect(failing).rejects.toThrow('reauthorize failed: 403');
    const throwing = gate.run('k', () => {
      throw new Error('no gateway');
    });
    await expect(throwing).rejects.toThrow('no gateway');
    expect(gate.running).toBe(0);
    let ran = false;
    await gate.run('k', () => {
      ran = true;
      return Promise.resolve();
    });
    expect(ran).toBe(true);
  });
});
