/**
 * The sidebar's workspace files: one folder of a session's workspace at a time (the
 * sandbox's working dir, or the local one). Folders open on a click and ".." goes back;
 * Download copies a file or a whole folder into the file browser's folder, with a
 * progress bar while the kernel moves it. Uploads from the file browser report here too.
 */
import { button, h } from './dom';
import { formatSize } from './format';
import { KernelLink, requestId } from './link';
import {
  IDownloaded,
  IFileEntry,
  IFiles,
  IProgress,
  KernelMessage as RhoMessage,
  Request
} from './protocol';

/** `name` inside the workspace folder `dir` ('.' is the working dir). */
export function childPath(dir: string, name: string): string {
  return dir === '.' || dir === ''
    ? name
    : `${dir.replace(/\/+$/, '')}/${name}`;
}

/** "30% of 52 MB". */
export function progressText(done: number, total: number): string {
  const percent = Math.min(100, Math.floor((done * 100) / Math.max(total, 1)));
  return `${percent}% of ${formatSize(total)}`;
}

/** The folder above `dir` ('.' stays '.'). */
export function parentPath(dir: string): string {
  const parts = dir.split('/').filter(p => p && p !== '.');
  parts.pop();
  return parts.length ? parts.join('/') : '.';
}

/** What the view needs of the sidebar. */
export interface IFilesHost {
  readonly link: KernelLink | null;
  /** The session whose workspace is shown (the prompt box's choice). */
  session(): string;
  /** Where a download of `remote` goes, relative to the kernel's folder. */
  targetFor(remote: string): string;
  /** Show what a download put into the file browser's folder. */
  refreshBrowser(): Promise<void>;
}

export class WorkspaceFiles {
  readonly root = h('div', { class: 'rho-files' });

  constructor(private readonly _host: IFilesHost) {
    this._show.addEventListener('click', () => void this.open('.'));
    this._up.addEventListener(
      'click',
      () => void this.open(parentPath(this._dir))
    );
    this._progress.hidden = true;
    this._up.hidden = true;
    this.root.append(
      h('h3', {}, 'Workspace files'),
      h(
        'div',
        { class: 'rho-files-actions' },
        this._show,
        this._up,
        this._where
      ),
      this._progress,
      this.status,
      this._list
    );
  }

  /** The status line (what was listed, downloaded, uploaded, or went wrong). */
  readonly status = h('div', { class: 'rho-files-status' });

  /** Forget what was listed (another kernel is shown). */
  clear(): void {
    this._list.replaceChildren();
    this.status.textContent = '';
    this._where.textContent = '';
    this._up.hidden = true;
    this._dir = '.';
  }

  /** List the workspace folder `dir` of the chosen session. */
  async open(dir: string): Promise<void> {
    const link = this._host.link;
    if (!link) {
      return;
    }
    const session = this._host.session();
    this.busy(
      true,
      `Listing ${dir === '.' ? 'the workspace' : dir} of session ${session}…`
    );
    try {
      const listed = await link.ask<IFiles>({
        type: 'list_files',
        id: requestId('files'),
        session,
        directory: dir
      });
      this._dir = listed.directory;
      this._up.hidden = this._dir === '.';
      this._where.textContent = listed.root;
      this._where.dataset.directory = this._dir;
      this.status.textContent = `Session ${listed.session}${listed.truncated ? ', first entries only' : ''}`;
      const rows = listed.entries.map(e => this._entry(link, session, e));
      this._list.replaceChildren(
        ...(rows.length
          ? rows
          : [h('li', { class: 'rho-empty' }, 'Empty folder.')])
      );
    } catch (error) {
      this.status.textContent = `Error: ${(error as Error).message}`;
    } finally {
      this.busy(false);
    }
  }

  private _entry(
    link: KernelLink,
    session: string,
    entry: IFileEntry
  ): HTMLElement {
    const path = childPath(this._dir, entry.name);
    const name = entry.folder
      ? button(`${entry.name}/`, () => void this.open(path), {
          class: 'rho-folder-open',
          title: 'Open this folder'
        })
      : h('span', { class: 'rho-file-path' }, entry.name);
    return h(
      'li',
      {
        class: entry.folder ? 'rho-file rho-folder' : 'rho-file',
        'data-path': path
      },
      name,
      entry.folder ? ' ' : ` ${formatSize(entry.size)} `,
      button('Download', () => void this._download(link, session, path), {
        class: 'jp-Button rho-button rho-download',
        title: `Copy this ${entry.folder ? 'folder' : 'file'} into the file browser's folder`
      })
    );
  }

  private async _download(
    link: KernelLink,
    session: string,
    remote: string
  ): Promise<void> {
    const local = this._host.targetFor(remote);
    try {
      const got = await this.transfer<IDownloaded>(
        link,
        { type: 'download', id: requestId('download'), session, remote, local },
        `Downloading ${remote}…`
      );
      this.status.textContent = `Downloaded ${got.remote} → ${local}`;
      await this._host.refreshBrowser();
    } catch (error) {
      this.status.textContent = `Error: ${(error as Error).message}`;
    } finally {
      this.busy(false);
    }
  }

  /**
   * Ask for the transfer `message` (busy, saying `what`), moving the progress bar as the
   * kernel says how far it has got (it does for 8 MB or more; until then the bar only says
   * the kernel is at work). The caller ends the busy state.
   */
  async transfer<T extends RhoMessage>(
    link: KernelLink,
    message: Request & { id: string },
    what: string
  ): Promise<T> {
    this.busy(true, what);
    const onProgress = (_: KernelLink, p: IProgress): void => {
      if (p.id !== message.id) {
        return;
      }
      this._progress.max = Math.max(p.total, 1);
      this._progress.value = p.done;
      this.status.textContent = `${what} ${progressText(p.done, p.total)}`;
    };
    link.progress.connect(onProgress);
    try {
      return await link.ask<T>(message);
    } finally {
      link.progress.disconnect(onProgress);
    }
  }

  /** Show the progress bar (and `text`) while the kernel works; buttons wait meanwhile. */
  busy(busy: boolean, text = ''): void {
    this._progress.hidden = !busy;
    this._progress.removeAttribute('value'); // at work, how far unknown (until told)
    this.root.dataset.busy = String(busy);
    this.root.querySelectorAll('button').forEach(b => (b.disabled = busy));
    if (busy) {
      this.status.textContent = text;
    }
  }

  private _dir = '.';
  private _show = h(
    'button',
    { class: 'jp-Button rho-button rho-list-files' },
    'Show files'
  );
  private _up = h(
    'button',
    { class: 'jp-Button rho-button rho-files-up', title: 'The folder above' },
    '..'
  );
  private _where = h('span', { class: 'rho-files-where' });
  private _progress = h('progress', { class: 'rho-progress' });
  private _list = h('ul', { class: 'rho-file-list' });
}
