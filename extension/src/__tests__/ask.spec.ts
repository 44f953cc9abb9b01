import { askAboutCell, errorText, outputText } from '../ask';

const ERROR = {
  output_type: 'error',
  ename: 'ZeroDivisionError',
  evalue: 'division by zero',
  traceback: [
    '\u001b[0;31mZeroDivisionError\u001b[0m                         Traceback',
    'Cell \u001b[0;32mIn[3], line 1\u001b[0m',
    '\u001b[0;31mZeroDivisionError\u001b[0m: division by zero'
  ]
};

describe('askAboutCell', () => {
  it('asks about a failing cell with its code and its error, colours removed', () => {
    const cell = askAboutCell('x = {"a": 1}\n1/0', [ERROR], 3);
    expect(cell.split('\n')[0]).toBe('%%rho');
    expect(cell).toContain('Cell [3] fails.');
    expect(cell).toContain('```python\nx = {"a": 1}\n1/0\n```');
    expect(cell).toContain('ZeroDivisionError: division by zero');
    expect(cell).not.toContain('\u001b');
  });

  it('asks about what a cell printed when it did not fail', () => {
    const cell = askAboutCell('print(2)', [
      { output_type: 'stream', text: ['2\n'] },
      { output_type: 'execute_result', data: { 'text/plain': '3' } }
    ]);
    expect(cell).toContain(
      'Explain what this cell does and what its output means.'
    );
    expect(cell).toContain('Its output:\n\n```\n2\n3\n```');
  });

  it('fences code that holds backticks with a longer fence', () => {
    const cell = askAboutCell('s = """```"""', []);
    expect(cell).toContain('````python\ns = """```"""\n````');
    expect(cell).not.toContain('Its output');
  });

  it('keeps the end of long outputs', () => {
    const long = 'x'.repeat(5000) + 'END';
    expect(outputText([{ output_type: 'stream', text: long }])).toMatch(
      /^….*END$/
    );
    expect(errorText([])).toBeNull();
  });
});
