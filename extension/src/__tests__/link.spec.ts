/**
 * The comm client against a stand-in kernel connection: what JupyterLab's KernelConnection
 * does with comms (open, messages, close) is played by hand; the real one is exercised by
 * the browser test.
 */
import { Signal } from '@lumino/signaling';

import { KernelLink } from '../link';
import { IState } from '../protocol';

class FakeComm {
  constructor(readonly commId: string) {}
  sent: any[] = [];
  opened: any = null;
  isDisposed = false;
  onMsg: (msg: any) => void = () => undefined;
  onClose: (msg: any) => void = () => undefined;
  open(data: any) {
    this.opened = data;
  }
  send(data: any) {
    this.sent.push(data);
  }
  close() {
    this.isDisposed = true;
    this.onClose({});
  }
  /** The kernel sends `data` on this comm. */
  receive(data: any) {
    this.onMsg({ content: { comm_id: this.commId, data } });
  }
}

class FakeKernel {
  statusChanged = new Signal<any, string>(this);
  targets = new Map<string, (comm: any, msg: any) => void>();
  comms: FakeComm[] = [];
  registerCommTarget(name: string, fn: (comm: any, msg: any) => void) {
    this.targets.set(name, fn);
  }
  removeCommTarget(name: string) {
    this.targets.delete(name);
  }
  createComm() {
    const comm = new FakeComm(`c${this.comms.length}`);
    this.comms.push(comm);
    return comm;
  }
  /** `%load_ext rho_agent`: the kernel opens a comm with a snapshot. */
  announce(data: any): FakeComm {
    const comm = new FakeComm('kernel');
    this.targets.get('rho-agent')!(comm, { content: { data } });
    return comm;
  }
}

const STATE: IState = {
  type: 'state',
  sessions: [],
  sandboxes: [],
  cost_usd: 0,
  budget_usd: null,
  defaults: {}
};

describe('KernelLink', () => {
  it('is unloaded when the kernel closes the probe, ready when rho announces itself', () => {
    const kernel = new FakeKernel();
    const link = new KernelLink(kernel as any);
    const changes: string[] = [];
    link.changed.connect(() => changes.push(link.status));
    link.probe();
    expect(kernel.comms[0].opened).toEqual({});
    kernel.comms[0].close(); // no rho-agent target in this kernel
    expect(link.status).toBe('unloaded');
    expect(link.state).toBeNull();

    kernel.announce({ ...STATE, cost_usd: 0.5 });
    expect(link.status).toBe('ready');
    expect(link.state!.cost_usd).toBe(0.5);
    expect(changes).toEqual(['unloaded', 'ready']);
  });

  it('answers requests by id and turns errors into rejections', async () => {
    const kernel = new FakeKernel();
    const link = new KernelLink(kernel as any);
    const comm = kernel.announce(STATE);
    const files = link.ask({ type: 'list_files', id: 'f1' });
    const failing = link.ask({
      type: 'download',
      id: 'd1',
      remote: 'x',
      local: 'x'
    });
    expect(comm.sent.map(r => r.id)).toEqual(['f1', 'd1']);
    comm.receive({ type: 'error', id: 'd1', message: 'x does not exist' });
    comm.receive({ type: 'files', id: 'f1', files: [], root: '/w' });
    await expect(files).resolves.toMatchObject({ root: '/w' });
    await expect(failing).rejects.toThrow('x does not exist');
  });

  it('passes on how far a transfer has got, and settles it on its answer', async () => {
    const kernel = new FakeKernel();
    const link = new KernelLink(kernel as any);
    const comm = kernel.announce(STATE);
    const seen: number[] = [];
    link.progress.connect((_, p) => seen.push(p.done));
    let settled = false;
    const got = link
      .ask({ type: 'download', id: 'd2', remote: 'big', local: 'big' })
      .then(answer => {
        settled = true;
        return answer;
      });
    comm.receive({ type: 'progress', id: 'd2', done: 5, total: 10 });
    await Promise.resolve();
    expect(settled).toBe(false);
    comm.receive({ type: 'progress', id: 'd2', done: 10, total: 10 });
    comm.receive({
      type: 'downloaded',
      id: 'd2',
      remote: 'big',
      path: '/n/big'
    });
    await expect(got).resolves.toMatchObject({ type: 'downloaded' });
    expect(seen).toEqual([5, 10]);
  });

  it('streams run updates and settles the run on run_done', async () => {
    const kernel = new FakeKernel();
    const link = new KernelLink(kernel as any);
    const comm = kernel.announce(STATE);
    const seen: string[] = [];
    link.streamed.connect((_, update) => seen.push(update.text));
    const done = link.ask({ type: 'run', id: 'r1', prompt: 'hi' });
    comm.receive({ type: 'run_update', id: 'r1', text: 'He' });
    comm.receive({
      type: 'run_done',
      id: 'r1',
      text: 'Hello',
      status: 'completed'
    });
    await expect(done).resolves.toMatchObject({ status: 'completed' });
    expect(seen).toEqual(['He', 'Hello']);
  });

  it('forgets rho when the kernel restarts, failing what waits', async () => {
    const kernel = new FakeKernel();
    const link = new KernelLink(kernel as any);
    kernel.announce(STATE);
    const waiting = link.ask({ type: 'list_files', id: 'f2' });
    kernel.statusChanged.emit('restarting');
    await expect(waiting).rejects.toThrow('no longer loaded');
    expect(link.status).toBe('unloaded');
    expect(() => link.send({ type: 'cancel_all' })).toThrow('not loaded');
  });

  it('keeps only the newest comm', () => {
    const kernel = new FakeKernel();
    const link = new KernelLink(kernel as any);
    link.probe();
    const probe = kernel.comms[0];
    probe.receive(STATE);
    const announced = kernel.announce({ ...STATE, cost_usd: 1 });
    expect(probe.isDisposed).toBe(true);
    expect(link.status).toBe('ready');
    link.send({ type: 'cancel_all' });
    expect(announced.sent).toEqual([{ type: 'cancel_all' }]);
  });
});
