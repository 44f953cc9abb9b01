/**
 * Approvals of sidebar runs: a call the profile wants approved (a destructive command)
 * waits in the kernel while the sidebar shows it with Allow and Deny. The answer goes back
 * as an `approve` request; the kernel withdraws the question (`approval_done`) once it is
 * answered or its run ended. Questions are kept per kernel, so one asked while another
 * notebook is active is there when its notebook is active again.
 */
import { button, h } from './dom';
import { KernelLink } from './link';
import { IApproval, IApprovalDone } from './protocol';

export class ApprovalBox {
  readonly root = h('div', { class: 'rho-approvals' });

  /** Listen for the questions of the sidebar runs started on `link`. */
  watch(link: KernelLink): void {
    if (!this._watched.has(link)) {
      this._watched.add(link);
      link.approvals.connect(this._onMessage, this);
    }
  }

  /** Show the questions waiting in `link`'s kernel (none: null). */
  show(link: KernelLink | null): void {
    this._shown = link;
    this.root.replaceChildren(
      ...[...this._waiting.values()]
        .filter(w => w.link === link && link.status === 'ready') // a restarted kernel asks nothing
        .map(w => this._question(w.link, w.asked))
    );
  }

  private _onMessage(
    link: KernelLink,
    message: IApproval | IApprovalDone
  ): void {
    if (message.type === 'approval_done') {
      this._waiting.delete(message.id);
    } else {
      this._waiting.set(message.id, { link, asked: message });
    }
    if (link === this._shown) {
      this.show(link);
    }
  }

  private _question(link: KernelLink, asked: IApproval): HTMLElement {
    const answer = (allow: boolean) => {
      node.querySelectorAll('button').forEach(b => (b.disabled = true));
      link.send({ type: 'approve', approval: asked.id, allow });
    };
    const node = h(
      'div',
      {
        class: 'rho-approval',
        'data-approval': asked.id,
        'data-tool': asked.tool
      },
      h('b', {}, `Allow this call (session ${asked.session})? `),
      h('code', { class: 'rho-approval-call' }, asked.summary),
      h(
        'div',
        { class: 'rho-approval-actions' },
        button('Allow', () => answer(true), {
          class: 'jp-Button rho-button rho-allow'
        }),
        button('Deny', () => answer(false), {
          class: 'jp-Button rho-button rho-deny'
        })
      )
    );
    return node;
  }

  private _watched = new WeakSet<KernelLink>();
  private _waiting = new Map<string, { link: KernelLink; asked: IApproval }>();
  private _shown: KernelLink | null = null;
}
