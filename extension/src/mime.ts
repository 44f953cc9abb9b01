/**
 * The mime renderer of rho's run output: registered as a mime extension, so JupyterLab and
 * Notebook 7 render it in any notebook, also one opened later with no kernel; elsewhere
 * the HTML log and the text bundled with it are shown.
 */
import { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Widget } from '@lumino/widgets';

import { IRunData, RUN_MIME, renderRun } from './runview';

export class RunOutput extends Widget implements IRenderMime.IRenderer {
  constructor() {
    super();
    this.addClass('rho-run-rendered');
  }

  renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    const data = model.data[RUN_MIME] as unknown as IRunData;
    this.node.replaceChildren(renderRun(data));
    return Promise.resolve();
  }
}

export const rendererFactory: IRenderMime.IRendererFactory = {
  safe: true,
  mimeTypes: [RUN_MIME],
  createRenderer: () => new RunOutput()
};

const extension: IRenderMime.IExtension = {
  id: 'rho-agent:run-renderer',
  description:
    "Renders rho's run output: tool calls, edits as diffs, the cost line.",
  rendererFactory,
  rank: 0,
  dataType: 'json'
};

export default extension;
