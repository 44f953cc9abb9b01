/**
 * One kernel's end of the `rho-agent` comm, as the sidebar sees it.
 *
 * The kernel opens a comm when `%load_ext rho_agent` runs (the target registered here takes
 * it); a sidebar that comes to a kernel where rho is already loaded opens one itself
 * (`probe`). A kernel without rho closes that comm at once: the link is then `unloaded`
 * and the sidebar shows how to load rho. Snapshots of the kernel's sessions arrive as
 * `state` messages; requests with an `id` are answered by the message with that `id`.
 */
import type { Kernel, KernelMessage } from '@jupyterlab/services';
import { ISignal, Signal } from '@lumino/signaling';

import {
  COMM_TARGET,
  IAnswer,
  IApproval,
  IApprovalDone,
  IProgress,
  IRunStream,
  IState,
  KernelMessage as RhoMessage,
  Request
} from './protocol';

export type LinkStatus = 'connecting' | 'unloaded' | 'ready';

let counter = 0;

/** A fresh request id. */
export function requestId(prefix: string): string {
  counter += 1;
  return `${prefix}-${Date.now().toString(36)}-${counter}`;
}

export class KernelLink {
  constructor(readonly kernel: Kernel.IKernelConnection) {
    kernel.registerCommTarget(COMM_TARGET, this._onCommOpen);
    kernel.statusChanged.connect(this._onKernelStatus, this);
  }

  get status(): LinkStatus {
    return this._status;
  }

  /** The latest snapshot of the kernel's sessions (null until rho is loaded). */
  get state(): IState | null {
    return this._state;
  }

  /** Emitted when `status` or `state` changes. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** The streamed answers of prompts run from the sidebar. */
  get streamed(): ISignal<this, IRunStream> {
    return this._streamed;
  }

  /** Questions of sidebar runs that wait for Allow or Deny, and their withdrawal. */
  get approvals(): ISignal<this, IApproval | IApprovalDone> {
    return this._approvals;
  }

  /** How far a transfer asked for with `ask` has got. */
  get progress(): ISignal<this, IProgress> {
    return this._progress;
  }

  /** Answers of background runs, for the cells that started them. */
  get answers(): ISignal<this, IAnswer> {
    return this._answers;
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  /** Open a comm to the kernel's target: answered by a snapshot if rho is loaded. */
  probe(): void {
    if (this._disposed || this._comm) {
      return;
    }
    try {
      const comm = this.kernel.createComm(COMM_TARGET);
      this._use(comm);
      comm.open({});
    } catch (error) {
      console.warn('rho-agent: cannot open a comm to the kernel', error);
      this._setStatus('unloaded');
    }
  }

  /** Send a request that needs no answer. */
  send(request: Request): void {
    if (!this._comm || this._comm.isDisposed) {
      throw new Error('rho is not loaded in this kernel');
    }
    this._comm.send(request as any);
  }

  /**
   * Send a request with an `id` and wait for the message that answers it
   * (rejected with the kernel's sentence if it is an error).
   */
  ask<T extends RhoMessage>(request: Request & { id: string }): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this._waiting.set(request.id, { resolve: resolve as any, reject });
      try {
        this.send(request);
      } catch (error) {
        this._waiting.delete(request.id);
        reject(error);
      }
    });
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    this.kernel.statusChanged.disconnect(this._onKernelStatus, this);
    try {
      this.kernel.removeCommTarget(COMM_TARGET, this._onCommOpen);
    } catch {
      // the kernel connection is gone already
    }
    this._drop();
    Signal.clearData(this);
  }

  private _onCommOpen = (
    comm: Kernel.IComm,
    msg: KernelMessage.ICommOpenMsg
  ): void => {
    const previous = this._comm;
    this._use(comm);
    if (previous && !previous.isDisposed) {
      previous.onClose = () => undefined;
      previous.close();
    }
    this._onData(msg.content.data as unknown as RhoMessage);
  };

  private _use(comm: Kernel.IComm): void {
    this._comm = comm;
    comm.onMsg = msg => this._onData(msg.content.data as unknown as RhoMessage);
    comm.onClose = () => {
      if (this._comm === comm) {
        this._drop();
      }
    };
  }

  private _onData(data: RhoMessage): void {
    if (!data || !data.type) {
      return;
    }
    if (data.type === 'state') {
      this._state = data;
      this._status = 'ready';
      this._changed.emit();
      return;
    }
    if (data.type === 'run_update' || data.type === 'run_done') {
      this._streamed.emit(data);
    }
    if (data.type === 'answer') {
      this._answers.emit(data);
      return;
    }
    if (data.type === 'approval' || data.type === 'approval_done') {
      this._approvals.emit(data);
      return;
    }
    if (data.type === 'progress') {
      this._progress.emit(data); // not the answer: that comes after
      return;
    }
    const id = (data as { id?: string | null }).id;
    const waiting = id ? this._waiting.get(id) : undefined;
    if (waiting && data.type !== 'run_update') {
      this._waiting.delete(id as string);
      if (data.type === 'error') {
        waiting.reject(new Error(data.message));
      } else {
        waiting.resolve(data);
      }
    } else if (data.type === 'error') {
      console.warn('rho-agent:', data.message);
    }
  }

  private _onKernelStatus(
    kernel: Kernel.IKernelConnection,
    status: Kernel.Status
  ): void {
    // A restarted kernel has lost rho: show how to load it again.
    if (
      status === 'restarting' ||
      status === 'autorestarting' ||
      status === 'dead'
    ) {
      this._drop();
    }
  }

  /** Forget the comm and the state: rho is not (or no longer) loaded. */
  private _drop(): void {
    this._comm = null;
    this._state = null;
    for (const waiting of this._waiting.values()) {
      waiting.reject(new Error('rho is no longer loaded in this kernel'));
    }
    this._waiting.clear();
    this._setStatus('unloaded');
  }

  private _setStatus(status: LinkStatus): void {
    this._status = status;
    this._changed.emit();
  }

  private _comm: Kernel.IComm | null = null;
  private _state: IState | null = null;
  private _status: LinkStatus = 'connecting';
  private _disposed = false;
  private _changed = new Signal<this, void>(this);
  private _streamed = new Signal<this, IRunStream>(this);
  private _answers = new Signal<this, IAnswer>(this);
  private _approvals = new Signal<this, IApproval | IApprovalDone>(this);
  private _progress = new Signal<this, IProgress>(this);
  private _waiting = new Map<
    string,
    { resolve: (value: RhoMessage) => void; reject: (error: Error) => void }
  >();
}
