/**
 * Approvals of a sidebar run: a call the profile wants approved (a destructive command)
 * waits in the kernel while the sidebar shows it with Allow and Deny. The answer goes back
 * as an `approve` request; the kernel withdraws the question (`approval_done`) once it is
 * answered or its run ended.
 */
import { button, h } from './dom';
import { KernelLink } from './link';
import { IApproval, IApprovalDone } from './protocol';

export class ApprovalBox {
  readonly root = h('div', { class: 'rho-approvals' });

  /** Follow the questions of the run `run` (a `run` request's id) on `link`. */
  follow(link: KernelLink | null, run: string): void {
    this._link?.approvals.disconnect(this._onMessage, this);
    this._link = link;
    this._run = run;
    this.root.replaceChildren();
    link?.approvals.connect(this._onMessage, this);
  }

  private _onMessage(
    link: KernelLink,
    message: IApproval | IApprovalDone
  ): void {
    if (message.run !== this._run) {
      return;
    }
    if (message.type === 'approval_done') {
      [...this.root.children]
        .find(node => (node as HTMLElement).dataset.approval === message.id)
        ?.remove();
      return;
    }
    this.root.append(this._question(link, message));
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
      h('b', {}, 'Allow this call? '),
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

  private _link: KernelLink | null = null;
  private _run = '';
}
