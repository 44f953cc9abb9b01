/**
 * The rho sidebar: what runs in the active notebook's kernel, and a prompt box.
 *
 * Sessions (backend, profile, model, status, turns, cost) with their recent runs (status,
 * elapsed, Cancel), sandboxes (state, age, Keep, Delete), the kernel's total and budget, all
 * from the kernel's snapshots; a prompt box that runs a prompt in a session and streams the
 * answer (asking Allow / Deny for calls that need approval), with "Insert as cells"; the
 * session's workspace files (`files.ts`). Without rho in the kernel it shows the line that
 * loads it.
 */
import { PathExt } from '@jupyterlab/coreutils';
import type { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import type { NotebookPanel } from '@jupyterlab/notebook';
import type { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { Widget } from '@lumino/widgets';

import { ApprovalBox } from './approval';
import { answerToCells } from './cells';
import { button, h } from './dom';
import { IFilesHost, WorkspaceFiles } from './files';
import { formatCost, formatElapsed, totalLine, turns } from './format';
import { KernelLink, requestId } from './link';
import { KernelLinks } from './links';
import { insertAndRun, insertBelow } from './notebook';
import {
  IKept,
  IRunInfo,
  IUploaded,
  IRunStream,
  ISandboxInfo,
  ISessionInfo,
  IState
} from './protocol';

export const LOAD_LINE = '%load_ext rho_agent';

/** Cancel a run: a comm message, and an interrupt when the kernel cannot read it now. */
export function cancelRun(
  link: KernelLink,
  session: string,
  run: IRunInfo | null
): void {
  link.send({ type: 'cancel', session, run: run?.id });
  // A blocking %%rho cell keeps the kernel's main shell busy: without subshells the comm
  // message waits for the cell, so the cell is interrupted (■), which cancels its run.
  if (run?.blocks_cell && !supportsSubshells(link)) {
    void link.kernel.interrupt();
  }
}

/** Cancel every run in the kernel (the "Cancel all rho runs" command). */
export function cancelAll(link: KernelLink): void {
  link.send({ type: 'cancel_all' });
  const blocking = (link.state?.sessions ?? []).some(s =>
    s.recent.some(r => r.status === 'running' && r.blocks_cell)
  );
  if (blocking && !supportsSubshells(link)) {
    void link.kernel.interrupt();
  }
}

function supportsSubshells(link: KernelLink): boolean {
  return Boolean(
    (link.kernel as { supportsSubshells?: boolean }).supportsSubshells
  );
}

export class RhoSidebar extends Widget implements IFilesHost {
  constructor(
    private readonly _links: KernelLinks,
    private readonly _fileBrowser: IDefaultFileBrowser | null,
    private readonly _rendermime: IRenderMimeRegistry | null = null
  ) {
    super();
    this.addClass('rho-sidebar');
    // The prompt box and the files stay in place (a re-render must not take the focus).
    this.node.append(
      this._header,
      this._body,
      this._prompt.root,
      this._files.root
    );
    this._buildPrompt();
    this._ticker = window.setInterval(() => this._tick(), 1000);
    this._render();
  }

  /** The notebook whose kernel the sidebar shows (null: none is active). */
  get panel(): NotebookPanel | null {
    return this._panel;
  }

  set panel(panel: NotebookPanel | null) {
    if (panel === this._panel && this._links.forPanel(panel) === this._link) {
      return;
    }
    this._panel = panel;
    this._follow(this._links.forPanel(panel));
  }

  /** The link of the notebook shown, or null. */
  get link(): KernelLink | null {
    return this._link;
  }

  dispose(): void {
    window.clearInterval(this._ticker);
    this._follow(null);
    super.dispose();
  }

  private _follow(link: KernelLink | null): void {
    if (this._link) {
      this._link.changed.disconnect(this._render, this);
      this._link.streamed.disconnect(this._onStream, this);
    }
    this._link = link;
    if (link) {
      link.changed.connect(this._render, this);
      link.streamed.connect(this._onStream, this);
    }
    this._files.clear();
    this._approvals.show(link);
    this._sandboxNote.textContent = '';
    this._render();
  }

  // ------------------------------------------------------------------ rendering

  private _render(): void {
    const panel = this._panel;
    this._header.replaceChildren(
      h('span', { class: 'rho-title' }, 'rho'),
      h(
        'span',
        { class: 'rho-notebook' },
        panel ? ` · ${panel.title.label}` : ''
      )
    );
    const link = this._link;
    if (!panel) {
      this._empty('Open a notebook to see the rho sessions of its kernel.');
    } else if (!link) {
      this._empty('This notebook has no kernel yet.');
    } else if (link.status === 'connecting') {
      this._empty('Connecting to the kernel…');
    } else if (link.status === 'unloaded' || !link.state) {
      this._unloaded(panel);
    } else {
      this._ready(link, link.state);
    }
  }

  private _empty(text: string): void {
    this._showTools(false);
    this._body.replaceChildren(h('p', { class: 'rho-empty' }, text));
  }

  private _showTools(shown: boolean): void {
    this._prompt.root.hidden = !shown;
    this._files.root.hidden = !shown;
  }

  private _unloaded(panel: NotebookPanel): void {
    this._showTools(false);
    this._body.replaceChildren(
      h(
        'div',
        { class: 'rho-empty rho-unloaded' },
        h(
          'p',
          {},
          "rho is not loaded in this notebook's kernel. Run this in a cell:"
        ),
        h('pre', { class: 'rho-load-line' }, LOAD_LINE),
        button('Insert and run it', () => void insertAndRun(panel, LOAD_LINE), {
          class: 'jp-Button rho-button rho-load'
        })
      )
    );
  }

  private _ready(link: KernelLink, state: IState): void {
    this._received = Date.now();
    this._showTools(true);
    const sessions = state.sessions.length
      ? state.sessions.map(s => this._session(link, s))
      : [
          h(
            'p',
            { class: 'rho-empty' },
            'No sessions yet: run a %%rho cell or a prompt below.'
          )
        ];
    const parts: HTMLElement[] = [
      h('div', { class: 'rho-total' }, totalLine(state)),
      h('h3', {}, 'Sessions'),
      h('div', { class: 'rho-sessions' }, ...sessions)
    ];
    if (state.sandboxes.length) {
      parts.push(
        h('h3', {}, 'Sandboxes'),
        h(
          'div',
          { class: 'rho-sandboxes' },
          ...state.sandboxes.map(b => this._sandbox(link, b))
        ),
        this._sandboxNote
      );
    }
    this._body.replaceChildren(...parts);
    this._updateSessionChoice(state);
  }

  private _session(link: KernelLink, s: ISessionInfo): HTMLElement {
    return h(
      'div',
      { class: 'rho-session', 'data-session': s.name, 'data-status': s.status },
      h(
        'div',
        { class: 'rho-session-head' },
        h('b', {}, s.name),
        h('span', { class: 'rho-session-status' }, s.status)
      ),
      h(
        'div',
        { class: 'rho-session-meta' },
        `${s.backend} · ${s.profile} · ${s.model} · ${turns(s.turns)} · ${formatCost(s.cost_usd)}`
      ),
      h(
        'ul',
        { class: 'rho-runs' },
        ...s.recent
          .slice()
          .reverse()
          .map(r => this._run(link, s, r))
      )
    );
  }

  private _run(link: KernelLink, s: ISessionInfo, r: IRunInfo): HTMLElement {
    const running = r.status === 'running';
    return h(
      'li',
      { class: 'rho-run', 'data-status': r.status, 'data-run': r.id },
      h('span', { class: 'rho-run-status' }, r.status),
      ' ',
      h(
        'span',
        {
          class: 'rho-elapsed',
          'data-elapsed': String(r.elapsed_s),
          'data-running': String(running)
        },
        formatElapsed(r.elapsed_s)
      ),
      ` · ${formatCost(r.cost_usd)} · `,
      h(
        'span',
        { class: 'rho-run-prompt', title: r.prompt },
        r.prompt || '(prompt not seen)'
      ),
      running
        ? button('Cancel', () => cancelRun(link, s.name, r), {
            class: 'jp-Button rho-button rho-cancel'
          })
        : null
    );
  }

  private _sandbox(link: KernelLink, b: ISandboxInfo): HTMLElement {
    return h(
      'div',
      {
        class: 'rho-sandbox',
        'data-session': b.session,
        'data-kept': String(b.kept)
      },
      `${b.kind} ${b.id ?? '(starting)'} · ${b.state} · ${formatElapsed(b.age_s)} old · session ${b.session} `,
      b.kept
        ? h(
            'span',
            {
              class: 'rho-kept',
              title: 'Left running when the session or the kernel ends'
            },
            'kept '
          )
        : button('Keep', () => void this._keep(link, b.session), {
            class: 'jp-Button rho-button rho-keep',
            title:
              'Keep this sandbox when the session ends or the kernel shuts down (as --keep)'
          }),
      button(
        'Delete',
        () => link.send({ type: 'end_session', session: b.session }),
        {
          class: 'jp-Button rho-button rho-delete',
          title:
            'End the session (the conversation stays) and delete its sandbox'
        }
      )
    );
  }

  private async _keep(link: KernelLink, session: string): Promise<void> {
    this._sandboxNote.textContent = `Keeping the sandbox of session ${session}…`;
    try {
      const kept = await link.ask<IKept>({
        type: 'keep',
        id: requestId('keep'),
        session
      });
      this._sandboxNote.textContent = `Sandbox ${kept.sandbox} is kept: delete it with rho-agent sandboxes delete ${kept.sandbox}`;
    } catch (error) {
      this._sandboxNote.textContent = `Error: ${(error as Error).message}`;
    }
  }

  /** Elapsed times of running runs count on between snapshots. */
  private _tick(): void {
    const since = (Date.now() - this._received) / 1000;
    this._body
      .querySelectorAll<HTMLElement>('.rho-elapsed[data-running="true"]')
      .forEach(node => {
        node.textContent = formatElapsed(Number(node.dataset.elapsed) + since);
      });
  }

  // ------------------------------------------------------------------ prompt box

  private _buildPrompt(): void {
    const p = this._prompt;
    p.run.addEventListener('click', () => void this._runPrompt());
    p.insert.addEventListener('click', () => this._insertAnswer());
    p.insert.disabled = true;
    p.root.append(
      h('h3', {}, 'Ask'),
      h('label', {}, 'Session ', p.session),
      p.text,
      h('div', { class: 'rho-prompt-actions' }, p.run, p.insert),
      p.status,
      this._approvals.root,
      p.log,
      p.answer
    );
  }

  private _updateSessionChoice(state: IState): void {
    const select = this._prompt.session;
    const names = state.sessions.map(s => s.name);
    if (!names.includes('default')) {
      names.unshift('default');
    }
    const current = select.value || 'default';
    const shown = [...select.options].map(o => o.value);
    if (shown.join('\n') !== names.join('\n')) {
      select.replaceChildren(
        ...names.map(name => h('option', { value: name }, name))
      );
      select.value = names.includes(current) ? current : 'default';
    }
  }

  private async _runPrompt(): Promise<void> {
    const link = this._link;
    const p = this._prompt;
    const prompt = p.text.value.trim();
    if (!link || !prompt) {
      return;
    }
    const id = requestId('run');
    this._streaming = id;
    this._approvals.watch(link);
    this._answerText = '';
    p.insert.disabled = true;
    p.run.disabled = true;
    p.answer.textContent = '';
    p.log.textContent = '';
    p.status.textContent = 'starting…';
    try {
      const done = await link.ask<IRunStream>({
        type: 'run',
        id,
        session: p.session.value || 'default',
        prompt
      });
      this._showStream(done);
    } catch (error) {
      p.status.textContent = `Error: ${(error as Error).message}`;
    } finally {
      p.run.disabled = false;
    }
  }

  private _onStream(link: KernelLink, update: IRunStream): void {
    if (update.id === this._streaming) {
      this._showStream(update);
    }
  }

  private _showStream(update: IRunStream): void {
    const p = this._prompt;
    this._renderAnswer(update);
    p.log.textContent = update.log.join('\n');
    p.status.textContent = update.error
      ? `${update.summary} — ${update.error}`
      : update.summary;
    p.status.dataset.status = update.status;
    if (update.type === 'run_done') {
      this._answerText = update.text;
      p.insert.disabled = !update.text.trim();
    }
  }

  /** The answer as Markdown when a renderer is at hand (JupyterLab's), else as text. */
  private _renderAnswer(update: IRunStream): void {
    const p = this._prompt;
    if (!this._rendermime) {
      p.answer.textContent = update.text;
      return;
    }
    const renderer = this._rendermime.createRenderer('text/markdown');
    const model = this._rendermime.createModel({
      data: { 'text/markdown': update.markdown },
      trusted: false
    });
    void renderer.renderModel(model).then(() => {
      if (this._streaming === update.id) {
        this._answerWidget?.dispose();
        this._answerWidget = renderer;
        p.answer.replaceChildren(renderer.node);
      } else {
        renderer.dispose();
      }
    });
  }

  private _insertAnswer(): void {
    if (this._panel && this._answerText) {
      insertBelow(this._panel, answerToCells(this._answerText));
    }
  }

  // ------------------------------------------------------------------ workspace files

  /** The session whose workspace the files view shows: the prompt box's choice. */
  session(): string {
    return this._prompt.session.value || 'default';
  }

  async refreshBrowser(): Promise<void> {
    await this._fileBrowser?.model.refresh();
  }

  /** Where a download goes, relative to the kernel's folder (the notebook's). */
  targetFor(remote: string): string {
    const notebookDir = PathExt.dirname(this._panel?.context.path ?? '');
    const browserDir = this._fileBrowser?.model.path ?? notebookDir;
    const relative = PathExt.relative(
      notebookDir,
      browserDir.replace(/^[^:/]+:/, '')
    );
    return PathExt.join(relative, PathExt.basename(remote));
  }

  /** Where a file browser path is, relative to the kernel's folder (the notebook's). */
  localFor(browserPath: string): string {
    const notebookDir = PathExt.dirname(this._panel?.context.path ?? '');
    return PathExt.relative(notebookDir, browserPath.replace(/^[^:/]+:/, ''));
  }

  /** Upload files or folders of the file browser into the chosen session's workspace. */
  async upload(browserPaths: string[]): Promise<void> {
    const link = this._link;
    const f = this._files;
    if (!link || link.status !== 'ready') {
      f.status.textContent = "rho is not loaded in this notebook's kernel.";
      return;
    }
    const session = this._prompt.session.value || 'default';
    const done: string[] = [];
    try {
      for (const browserPath of browserPaths) {
        const local = this.localFor(browserPath);
        const got = await f.transfer<IUploaded>(
          link,
          { type: 'upload', id: requestId('upload'), session, local },
          `Uploading ${local} to session ${session}…`
        );
        done.push(`${got.local} → ${got.path}`);
      }
      f.status.textContent = `Uploaded ${done.join(', ')}`;
    } catch (error) {
      f.status.textContent = `Error: ${(error as Error).message}`;
    } finally {
      this._files.busy(false);
    }
  }

  private _panel: NotebookPanel | null = null;
  private _link: KernelLink | null = null;
  private _received = Date.now();
  private _ticker: number;
  private _streaming = '';
  private _answerWidget: Widget | null = null;
  private _answerText = '';
  private _header = h('div', { class: 'rho-header' });
  private _body = h('div', { class: 'rho-body' });
  private _prompt = {
    root: h('div', { class: 'rho-prompt' }),
    session: h('select', { class: 'rho-session-choice' }),
    text: h('textarea', {
      class: 'rho-prompt-text',
      rows: '4',
      placeholder:
        'Ask rho in this session (same conversation as its %%rho cells)'
    }),
    run: h('button', { class: 'jp-Button rho-button rho-run-prompt' }, 'Run'),
    insert: h(
      'button',
      { class: 'jp-Button rho-button rho-insert' },
      'Insert as cells'
    ),
    status: h('div', { class: 'rho-prompt-status' }),
    log: h('pre', { class: 'rho-prompt-log' }),
    answer: h('div', { class: 'rho-answer' })
  };
  private _files = new WorkspaceFiles(this);
  private _approvals = new ApprovalBox();
  private _sandboxNote = h('div', { class: 'rho-sandbox-note' });
}
