import { lineDiff } from '../diff';

describe('lineDiff', () => {
  it('keeps common lines and marks what went out and came in', () => {
    expect(lineDiff('a\nb\nc', 'a\nB\nc\nd')).toEqual([
      { kind: ' ', text: 'a' },
      { kind: '-', text: 'b' },
      { kind: '+', text: 'B' },
      { kind: ' ', text: 'c' },
      { kind: '+', text: 'd' }
    ]);
  });

  it('handles an insertion at the start and a deletion at the end', () => {
    expect(lineDiff('x\ny', 'new\nx')).toEqual([
      { kind: '+', text: 'new' },
      { kind: ' ', text: 'x' },
      { kind: '-', text: 'y' }
    ]);
  });

  it('compares long texts as blocks', () => {
    const long = Array.from({ length: 500 }, (_, i) => `line ${i}`).join('\n');
    const diff = lineDiff(long, 'short');
    expect(diff.filter(l => l.kind === '-')).toHaveLength(500);
    expect(diff[diff.length - 1]).toEqual({ kind: '+', text: 'short' });
  });
});
