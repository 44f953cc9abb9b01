/**
 * rho-agent's JupyterLab extension: the rho sidebar for the active notebook's kernel, its
 * commands, and the defaults (Settings Editor) it sends to each kernel where rho is loaded.
 * It talks to the kernel over the `rho-agent` comm; no server extension is involved.
 */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { LabIcon } from '@jupyterlab/ui-components';

import type { ICodeCellModel } from '@jupyterlab/cells';

import { findCell, writeAnswer } from './answers';
import { askAboutCell, IOutputLike } from './ask';
import { insertBelow } from './notebook';
import { KernelLink } from './link';
import { KernelLinks } from './links';
import { Request } from './protocol';
import { cancelAll, RhoSidebar } from './sidebar';

const PLUGIN_ID = 'rho-agent:plugin';

export namespace CommandIDs {
  export const showSidebar = 'rho-agent:show-sidebar';
  export const cancelAll = 'rho-agent:cancel-all';
  export const askAboutCell = 'rho-agent:ask-about-cell';
  export const upload = 'rho-agent:upload';
}

const rhoIcon = new LabIcon({
  name: 'rho-agent:icon',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><text x="5" y="18" font-size="18" font-family="serif" class="jp-icon3" fill="#616161">ρ</text></svg>'
});

/** The settings as a `configure` request (empty fields leave rho's own defaults). */
export function configureRequest(settings: Record<string, unknown>): Request {
  const defaults: Record<string, string> = {};
  for (const key of ['backend', 'profile', 'model']) {
    const value = settings[key];
    if (typeof value === 'string' && value.trim()) {
      defaults[key] = value.trim();
    }
  }
  const budget = settings['budget_usd'];
  return {
    type: 'configure',
    defaults,
    budget_usd: typeof budget === 'number' ? budget : null
  };
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description:
    "The rho sidebar: sessions, runs, sandboxes and a prompt box for the active notebook's kernel.",
  autoStart: true,
  requires: [INotebookTracker],
  optional: [
    ICommandPalette,
    ISettingRegistry,
    IDefaultFileBrowser,
    IRenderMimeRegistry
  ],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    palette: ICommandPalette | null,
    settingRegistry: ISettingRegistry | null,
    fileBrowser: IDefaultFileBrowser | null,
    rendermime: IRenderMimeRegistry | null
  ) => {
    const links = new KernelLinks();
    const sidebar = new RhoSidebar(links, fileBrowser, rendermime);
    sidebar.id = 'rho-agent-sidebar';
    sidebar.title.icon = rhoIcon;
    sidebar.title.caption = 'rho';
    app.shell.add(sidebar, 'right', { rank: 600 });

    // Defaults from the Settings Editor go to every kernel where rho is (or gets) loaded.
    let settings: Record<string, unknown> = {};
    const configured = new WeakSet<KernelLink>();
    const configure = (link: KernelLink) => {
      if (link.status === 'ready' && !configured.has(link)) {
        configured.add(link);
        link.send(configureRequest(settings));
      } else if (link.status !== 'ready') {
        configured.delete(link);
      }
    };
    if (settingRegistry) {
      void settingRegistry.load(PLUGIN_ID).then(loaded => {
        const apply = () => {
          settings = loaded.composite as Record<string, unknown>;
          links.broadcast(configureRequest(settings));
        };
        loaded.changed.connect(apply);
        apply();
      });
    }

    tracker.widgetAdded.connect((_, panel) => links.track(panel));
    tracker.forEach(panel => links.track(panel));
    // A background run's answer goes into the cell that started it, then the kernel is told.
    const panels = () => {
      const found: NotebookPanel[] = [];
      tracker.forEach(panel => found.push(panel));
      return found;
    };
    const followed = new WeakSet<KernelLink>();
    const follow = (link: KernelLink) => {
      if (followed.has(link)) {
        return;
      }
      followed.add(link);
      link.changed.connect(() => configure(link));
      link.answers.connect((_, answer) => {
        const cell = findCell(panels(), link.kernel, answer.cell_id);
        if (cell) {
          writeAnswer(cell, answer);
          link.send({ type: 'delivered', answer: answer.id });
        }
      });
    };
    links.changed.connect((_, panel) => {
      const link = links.forPanel(panel);
      if (link) {
        follow(link);
        configure(link);
      }
      if (panel === tracker.currentWidget) {
        sidebar.panel = panel;
      }
    });
    tracker.currentChanged.connect((_, panel) => {
      sidebar.panel = panel;
    });
    sidebar.panel = tracker.currentWidget;

    app.commands.addCommand(CommandIDs.showSidebar, {
      label: 'Show rho sidebar',
      execute: () => app.shell.activateById(sidebar.id)
    });
    app.commands.addCommand(CommandIDs.cancelAll, {
      label: 'Cancel all rho runs',
      execute: () => links.ready().forEach(link => cancelAll(link))
    });
    app.commands.addCommand(CommandIDs.askAboutCell, {
      label: 'Ask rho about this cell',
      caption:
        'Insert a %%rho cell below that asks about this cell, its output or its error',
      icon: rhoIcon,
      isEnabled: () => tracker.activeCell !== null,
      execute: () => {
        const panel = tracker.currentWidget;
        const cell = tracker.activeCell;
        if (!panel || !cell) {
          return;
        }
        const model = cell.model;
        const code = model.type === 'code' ? (model as ICodeCellModel) : null;
        const source = askAboutCell(
          model.sharedModel.getSource(),
          code ? (code.outputs.toJSON() as IOutputLike[]) : [],
          code?.executionCount ?? null
        );
        insertBelow(panel, [{ cellType: 'code', source }]);
      }
    });
    app.commands.addCommand(CommandIDs.upload, {
      label: 'Upload to rho workspace',
      caption:
        "Copy the selected files or folders into the workspace of the sidebar's session",
      icon: rhoIcon,
      isEnabled: () => Boolean(fileBrowser?.selectedItems().next()),
      execute: async () => {
        if (!fileBrowser) {
          return;
        }
        const paths = [...fileBrowser.selectedItems()].map(item => item.path);
        app.shell.activateById(sidebar.id);
        await sidebar.upload(paths);
      }
    });
    app.contextMenu.addItem({
      command: CommandIDs.upload,
      selector: '.jp-DirListing-item[data-isdir]',
      rank: 60
    });
    if (palette) {
      for (const command of [
        CommandIDs.showSidebar,
        CommandIDs.cancelAll,
        CommandIDs.askAboutCell
      ]) {
        palette.addItem({ command, category: 'rho' });
      }
    }
  }
};

export default plugin;
