/** What the sidebar does to a notebook: insert cells below the active one, run them. */
import { MarkdownCell } from '@jupyterlab/cells';
import { NotebookActions, NotebookPanel } from '@jupyterlab/notebook';

import { ICellSource } from './cells';

/** Insert `cells` below the active cell, in order; the last one stays active. */
export function insertBelow(panel: NotebookPanel, cells: ICellSource[]): void {
  const notebook = panel.content;
  for (const cell of cells) {
    NotebookActions.insertBelow(notebook);
    if (cell.cellType === 'markdown') {
      NotebookActions.changeCellType(notebook, 'markdown');
    }
    const active = notebook.activeCell;
    if (!active) {
      return;
    }
    active.model.sharedModel.setSource(cell.source);
    if (active instanceof MarkdownCell) {
      active.rendered = true;
    }
  }
}

/** Insert a code cell below the active one and run it. */
export async function insertAndRun(
  panel: NotebookPanel,
  source: string
): Promise<void> {
  insertBelow(panel, [{ cellType: 'code', source }]);
  await NotebookActions.run(panel.content, panel.sessionContext);
}
