/**
 * The run output (`application/vnd.rho-agent.run+json`) as DOM: the cost line as the summary
 * of a collapsible block, then an entry per tool call that opens on a click (status, summary, duration,
 * the end of its output), edits as diffs, and notices. Text is set as text, never as HTML.
 */
import { lineDiff } from './diff';
import { h } from './dom';

export const RUN_MIME = 'application/vnd.rho-agent.run+json';

export interface IToolCall {
  name: string;
  summary: string;
  status: string;
  duration_s: number | null;
  detail: string;
  output: string;
  change: { path: string; before: string; after: string } | null;
}

export interface IRunData {
  version: number;
  status: string;
  summary: string;
  cost_usd: number;
  turns: number;
  trace: string | null;
  notices: string[];
  tools: IToolCall[];
}

const MARKS: Record<string, string> = {
  running: '…',
  ok: '✓',
  error: '✗',
  denied: '⊘',
  waiting: '?',
  stopped: '■'
};

export function renderRun(data: IRunData): HTMLElement {
  const calls = data.tools.map(renderCall);
  return h(
    'details',
    { class: 'rho-log rho-run-output', 'data-status': data.status },
    h('summary', {}, `${data.summary} · ${data.tools.length} tool call(s)`),
    h('div', { class: 'rho-run-calls' }, ...calls),
    ...data.notices.map(n => h('div', { class: 'rho-run-notice' }, n)),
    data.trace
      ? h('div', { class: 'rho-run-trace' }, `trace: ${data.trace}`)
      : null
  );
}

function renderCall(call: IToolCall): HTMLElement {
  const took =
    call.duration_s === null ? '' : ` (${call.duration_s.toFixed(1)}s)`;
  const detail = call.detail ? ` — ${call.detail}` : '';
  const body: HTMLElement[] = [];
  if (call.change) {
    body.push(renderChange(call.change));
  }
  if (call.output) {
    body.push(h('pre', { class: 'rho-run-call-output' }, call.output));
  }
  // A toggle rather than a nested <details>: the run's own <summary> stays the only one.
  const content = h('div', { class: 'rho-run-call-body' }, ...body);
  content.hidden = true;
  const head = h(
    'div',
    { class: 'rho-run-call-head', role: 'button', tabindex: '0' },
    `${MARKS[call.status] ?? '·'} ${call.summary}${took}${detail}`
  );
  const toggle = () => {
    content.hidden = !content.hidden;
    head.setAttribute('aria-expanded', String(!content.hidden));
  };
  head.setAttribute('aria-expanded', 'false');
  head.addEventListener('click', toggle);
  head.addEventListener('keydown', event => {
    if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      toggle();
    }
  });
  return h(
    'div',
    {
      class: 'rho-run-call',
      'data-status': call.status,
      'data-tool': call.name
    },
    head,
    content
  );
}

function renderChange(change: {
  path: string;
  before: string;
  after: string;
}): HTMLElement {
  const lines = lineDiff(change.before, change.after).map(line =>
    h(
      'div',
      {
        class: `rho-diff-line rho-diff-${
          line.kind === '+' ? 'add' : line.kind === '-' ? 'del' : 'same'
        }`
      },
      `${line.kind} ${line.text}`
    )
  );
  return h(
    'div',
    { class: 'rho-diff' },
    h('div', { class: 'rho-diff-path' }, change.path),
    ...lines
  );
}
