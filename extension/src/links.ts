/**
 * The kernel links of the open notebooks: one `KernelLink` per kernel, made as soon as a
 * notebook has a kernel (so the comm target is there before `%load_ext rho_agent` runs),
 * followed across kernel changes and dropped with the kernel.
 */
import type { NotebookPanel } from '@jupyterlab/notebook';
import type { Kernel } from '@jupyterlab/services';
import { ISignal, Signal } from '@lumino/signaling';

import { KernelLink } from './link';
import { Request } from './protocol';

export class KernelLinks {
  /** Emitted when a notebook's link appears or changes (a new kernel). */
  get changed(): ISignal<this, NotebookPanel> {
    return this._changed;
  }

  /** Follow `panel`'s kernel from now on. */
  track(panel: NotebookPanel): void {
    const context = panel.sessionContext;
    const update = () => {
      this.forKernel(context.session?.kernel ?? null);
      this._changed.emit(panel);
    };
    context.kernelChanged.connect(update);
    panel.disposed.connect(() => context.kernelChanged.disconnect(update));
    void context.ready.then(update);
    update();
  }

  /** The link of `panel`'s kernel (null: no kernel yet). */
  forPanel(panel: NotebookPanel | null): KernelLink | null {
    return this.forKernel(panel?.sessionContext.session?.kernel ?? null);
  }

  forKernel(kernel: Kernel.IKernelConnection | null): KernelLink | null {
    if (!kernel || kernel.isDisposed) {
      return null;
    }
    let link = this._links.get(kernel);
    if (!link) {
      link = new KernelLink(kernel);
      this._links.set(kernel, link);
      kernel.disposed.connect(() => {
        this._links.get(kernel)?.dispose();
        this._links.delete(kernel);
      });
      link.probe();
    }
    return link;
  }

  /** Send `request` to every kernel where rho is loaded (e.g. new defaults). */
  broadcast(request: Request): void {
    for (const link of this._links.values()) {
      if (link.status === 'ready') {
        link.send(request);
      }
    }
  }

  /** Every link where rho is loaded. */
  ready(): KernelLink[] {
    return [...this._links.values()].filter(link => link.status === 'ready');
  }

  private _links = new Map<Kernel.IKernelConnection, KernelLink>();
  private _changed = new Signal<this, NotebookPanel>(this);
}
