/**
 * An answer in Markdown as notebook cells: "Insert as cells" puts the prose in Markdown cells
 * and each fenced block of Python (or of no language) in a code cell. Blocks in other
 * languages (a shell transcript, JSON) stay in the Markdown, as the answer showed them.
 */

export interface ICellSource {
  cellType: 'markdown' | 'code';
  source: string;
}

const CODE_LANGUAGES = new Set(['', 'python', 'py', 'python3', 'ipython']);

export function answerToCells(markdown: string): ICellSource[] {
  const cells: ICellSource[] = [];
  let prose: string[] = [];
  let code: string[] | null = null;
  let fence = '';
  let keepInProse = false;

  const flushProse = () => {
    const text = prose.join('\n').trim();
    if (text) {
      cells.push({ cellType: 'markdown', source: text });
    }
    prose = [];
  };

  for (const line of markdown.split('\n')) {
    if (code === null) {
      const open = /^(\s*)(`{3,}|~{3,})\s*([\w+-]*)\s*$/.exec(line);
      if (open) {
        fence = open[2];
        keepInProse = !CODE_LANGUAGES.has(open[3].toLowerCase());
        code = [];
        if (keepInProse) {
          prose.push(line);
        }
        continue;
      }
      prose.push(line);
      continue;
    }
    if (
      line.trim().startsWith(fence) &&
      line.trim().replace(/[`~]/g, '') === ''
    ) {
      if (keepInProse) {
        prose.push(line);
      } else {
        flushProse();
        const source = code.join('\n').replace(/\s+$/, '');
        if (source) {
          cells.push({ cellType: 'code', source });
        }
      }
      code = null;
      continue;
    }
    if (keepInProse) {
      prose.push(line);
    } else {
      code.push(line);
    }
  }
  if (code !== null && !keepInProse) {
    // An unclosed fence (a cancelled run): what came is still code.
    flushProse();
    const source = code.join('\n').replace(/\s+$/, '');
    if (source) {
      cells.push({ cellType: 'code', source });
    }
  }
  flushProse();
  return cells;
}
