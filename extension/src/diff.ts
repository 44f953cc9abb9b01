/**
 * A line diff of an edit's before and after text (longest common subsequence), for the run
 * renderer. Long texts are compared as a whole block out, a whole block in.
 */
export interface IDiffLine {
  kind: ' ' | '-' | '+';
  text: string;
}

/** Beyond this many lines on a side the diff is not computed line by line. */
const MAX_LINES = 400;

export function lineDiff(before: string, after: string): IDiffLine[] {
  const a = before.split('\n');
  const b = after.split('\n');
  if (a.length > MAX_LINES || b.length > MAX_LINES) {
    return [
      ...a.map(text => ({ kind: '-' as const, text })),
      ...b.map(text => ({ kind: '+' as const, text }))
    ];
  }
  // lengths[i][j]: the longest common subsequence of a[i:] and b[j:].
  const lengths = Array.from({ length: a.length + 1 }, () =>
    new Array<number>(b.length + 1).fill(0)
  );
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lengths[i][j] =
        a[i] === b[j]
          ? lengths[i + 1][j + 1] + 1
          : Math.max(lengths[i + 1][j], lengths[i][j + 1]);
    }
  }
  const lines: IDiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      lines.push({ kind: ' ', text: a[i] });
      i++;
      j++;
    } else if (lengths[i + 1][j] >= lengths[i][j + 1]) {
      lines.push({ kind: '-', text: a[i++] });
    } else {
      lines.push({ kind: '+', text: b[j++] });
    }
  }
  while (i < a.length) {
    lines.push({ kind: '-', text: a[i++] });
  }
  while (j < b.length) {
    lines.push({ kind: '+', text: b[j++] });
  }
  return lines;
}
