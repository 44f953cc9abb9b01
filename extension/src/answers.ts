/**
 * Durable background answers: the kernel sends a background run's outputs when it ends, and
 * they are appended to the outputs of the cell that started the run, so they are saved with
 * the notebook (a widget's state is not) and seen after reopening it with a fresh kernel.
 */
import type { ICodeCellModel } from '@jupyterlab/cells';
import type { NotebookPanel } from '@jupyterlab/notebook';
import type { Kernel } from '@jupyterlab/services';

import { IAnswer } from './protocol';

/** The code cell `cellId` of a notebook on `kernel`, or null. */
export function findCell(
  panels: Iterable<NotebookPanel>,
  kernel: Kernel.IKernelConnection,
  cellId: string
): ICodeCellModel | null {
  for (const panel of panels) {
    if (panel.sessionContext.session?.kernel !== kernel) {
      continue;
    }
    for (const cell of panel.content.widgets) {
      if (cell.model.id === cellId && cell.model.type === 'code') {
        return cell.model as ICodeCellModel;
      }
    }
  }
  return null;
}

/** Append the answer's outputs to `cell`. */
export function writeAnswer(cell: ICodeCellModel, answer: IAnswer): void {
  for (const data of answer.outputs) {
    cell.outputs.add({
      output_type: 'display_data',
      data,
      metadata: { 'rho-agent': { answer: answer.id, kind: answer.kind } }
    });
  }
}
