import { answerToCells } from '../cells';

describe('answerToCells', () => {
  it('splits prose and Python blocks into Markdown and code cells', () => {
    const answer = [
      '## Plan',
      '',
      'Load the data:',
      '',
      '```python',
      'import pandas as pd',
      "df = pd.read_csv('x.csv')",
      '```',
      '',
      'Then plot it.',
      '',
      '```',
      'df.plot()',
      '```'
    ].join('\n');
    expect(answerToCells(answer)).toEqual([
      { cellType: 'markdown', source: '## Plan\n\nLoad the data:' },
      {
        cellType: 'code',
        source: "import pandas as pd\ndf = pd.read_csv('x.csv')"
      },
      { cellType: 'markdown', source: 'Then plot it.' },
      { cellType: 'code', source: 'df.plot()' }
    ]);
  });

  it('keeps blocks of other languages in the Markdown', () => {
    const answer = 'Run:\n\n```bash\npip install x\n```\n\nDone.';
    expect(answerToCells(answer)).toEqual([
      { cellType: 'markdown', source: answer }
    ]);
  });

  it('treats an unclosed Python block as code and skips empty parts', () => {
    expect(answerToCells('```python\nx = 1\n\n')).toEqual([
      { cellType: 'code', source: 'x = 1' }
    ]);
    expect(answerToCells('')).toEqual([]);
  });

  it('closes a fence only with the same marker', () => {
    const answer = '~~~python\nprint("```")\n~~~';
    expect(answerToCells(answer)).toEqual([
      { cellType: 'code', source: 'print("```")' }
    ]);
  });
});
