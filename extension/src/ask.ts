/**
 * "Ask rho about this cell": a `%%rho` cell that shows the model a cell, with its error or
 * its output. The cell's code and outputs go in fenced blocks, which `%%rho` never
 * interpolates (`{name}` inside them stays as written).
 */

/** What of a notebook output is shown (nbformat's output, the fields used here). */
export interface IOutputLike {
  output_type: string;
  text?: string | string[];
  data?: Record<string, unknown>;
  ename?: string;
  evalue?: string;
  traceback?: string[];
}

/** Characters of a cell's output or traceback put in the prompt (the end is kept). */
export const MAX_SHOWN = 3000;

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*[A-Za-z]/g;

function joined(value: string | string[] | undefined): string {
  return Array.isArray(value) ? value.join('') : (value ?? '');
}

function tail(text: string): string {
  return text.length <= MAX_SHOWN ? text : '…' + text.slice(-MAX_SHOWN);
}

/** A fence longer than any run of backticks in `text`. */
function fenceFor(text: string): string {
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map(r => r.length));
  return '`'.repeat(Math.max(3, longest + 1));
}

function block(text: string, language = ''): string {
  const fence = fenceFor(text);
  return `${fence}${language}\n${text.replace(/\n+$/, '')}\n${fence}`;
}

/** The error of a cell's outputs, as `Name: value` and the traceback, without colours. */
export function errorText(outputs: IOutputLike[]): string | null {
  const error = outputs.find(o => o.output_type === 'error');
  if (!error) {
    return null;
  }
  const trace = (error.traceback ?? []).join('\n').replace(ANSI, '');
  return tail(trace || `${error.ename}: ${error.evalue}`);
}

/** The text a cell printed or returned. */
export function outputText(outputs: IOutputLike[]): string {
  const parts = outputs.map(o => {
    if (o.output_type === 'stream') {
      return joined(o.text);
    }
    const plain = o.data?.['text/plain'];
    return typeof plain === 'string' || Array.isArray(plain)
      ? joined(plain as string | string[])
      : '';
  });
  return tail(parts.join('').replace(ANSI, ''));
}

/** The source of a `%%rho` cell asking about a cell. */
export function askAboutCell(
  source: string,
  outputs: IOutputLike[],
  executionCount: number | null = null
): string {
  const which =
    executionCount === null ? 'This cell' : `Cell [${executionCount}]`;
  const code = block(source, 'python');
  const error = errorText(outputs);
  if (error !== null) {
    return [
      '%%rho',
      `${which} fails. Explain why and show the corrected code in one Python block.`,
      '',
      code,
      '',
      'The error:',
      '',
      block(error)
    ].join('\n');
  }
  const printed = outputText(outputs);
  const shown = printed ? ['', 'Its output:', '', block(printed)] : [];
  return [
    '%%rho',
    `Explain what ${which === 'This cell' ? 'this cell' : which} does${
      printed ? ' and what its output means' : ''
    }.`,
    '',
    code,
    ...shown
  ].join('\n');
}
