/**
 * @jest-environment jsdom
 */
import { IRunData, renderRun } from '../runview';

const RUN: IRunData = {
  version: 1,
  status: 'completed',
  summary: 'completed · 2 turn(s) · 1.0s · 10 in / 2 out tokens · $0.0010',
  cost_usd: 0.001,
  turns: 2,
  trace: '/t/trace.jsonl',
  notices: ['· a notice'],
  tools: [
    {
      name: 'edit',
      summary: 'edit: app.py',
      status: 'ok',
      duration_s: 0.1,
      detail: '',
      output: 'Edited app.py',
      change: { path: 'app.py', before: 'x = 1\ny = 2', after: 'x = 1\ny = 3' }
    },
    {
      name: 'bash',
      summary: 'bash: <b>make</b>',
      status: 'error',
      duration_s: null,
      detail: 'exit 2',
      output: '',
      change: null
    }
  ]
};

describe('renderRun', () => {
  it('shows the cost line, each call collapsible, and edits as diffs', () => {
    const node = renderRun(RUN);
    expect(node.tagName).toBe('DETAILS');
    expect(node.querySelector(':scope > summary')!.textContent).toBe(
      `${RUN.summary} · 2 tool call(s)`
    );
    const calls = node.querySelectorAll('.rho-run-call');
    expect(calls).toHaveLength(2);
    const head = calls[0].querySelector<HTMLElement>('.rho-run-call-head')!;
    expect(head.textContent).toBe('✓ edit: app.py (0.1s)');
    const body = calls[0].querySelector<HTMLElement>('.rho-run-call-body')!;
    expect(body.hidden).toBe(true); // collapsed until clicked
    head.click();
    expect(body.hidden).toBe(false);
    expect(head.getAttribute('aria-expanded')).toBe('true');
    const diff = [...calls[0].querySelectorAll('.rho-diff-line')].map(
      l => l.textContent
    );
    expect(diff).toEqual(['  x = 1', '- y = 2', '+ y = 3']);
    expect(calls[1].querySelector('.rho-run-call-head')!.textContent).toBe(
      '✗ bash: <b>make</b> — exit 2'
    );
    expect(node.querySelectorAll('summary')).toHaveLength(1);
    expect(node.querySelector('b')).toBeNull(); // text, never HTML
    expect(node.querySelector('.rho-run-trace')!.textContent).toBe(
      'trace: /t/trace.jsonl'
    );
  });
});
