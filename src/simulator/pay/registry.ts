import type { SimState } from '../state.ts';
import { Notifier } from './notify.ts';
import { PayState, type SimMchConfig } from './state.ts';

/** The pay side of one simulator, found from its SimState (kept beside it, as the bridge's data is). */
export interface PaySim {
  pay: PayState;
  notifier: Notifier;
}

const sims = new WeakMap<SimState, PaySim>();

/** Adds merchants to a simulator; notifications fall due as its virtual clock moves. */
export function attachPay(state: SimState, mchs: readonly SimMchConfig[]): PaySim {
  const pay = new PayState(state, mchs);
  const notifier = new Notifier(pay);
  state.clockListeners.add(() => notifier.pump());
  const sim = { pay, notifier };
  sims.set(state, sim);
  return sim;
}

/** The simulator's pay side; `undefined` when it has no merchant. */
export function payOf(state: SimState): PaySim | undefined {
  return sims.get(state);
}
