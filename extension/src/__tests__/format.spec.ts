import {
  formatCost,
  formatElapsed,
  formatSize,
  totalLine,
  turns
} from '../format';
import { IState } from '../protocol';

function state(cost: number, budget: number | null): IState {
  return {
    type: 'state',
    sessions: [],
    sandboxes: [],
    cost_usd: cost,
    budget_usd: budget,
    defaults: {}
  };
}

describe('format', () => {
  it('shows costs to a hundredth of a cent', () => {
    expect(formatCost(0.01234)).toBe('$0.0123');
    expect(formatCost(0)).toBe('$0.0000');
  });

  it('shows durations as people read them', () => {
    expect(formatElapsed(4.24)).toBe('4.2s');
    expect(formatElapsed(185)).toBe('3m 05s');
    expect(formatElapsed(3720)).toBe('1h 02m');
    expect(formatElapsed(-1)).toBe('0.0s');
  });

  it('shows the kernel total with the budget left, never below zero', () => {
    expect(totalLine(state(0.5, null))).toBe('Cost in this kernel: $0.5000');
    expect(totalLine(state(0.5, 2))).toBe(
      'Cost in this kernel: $0.5000 · budget $2.0000, $1.5000 left'
    );
    expect(totalLine(state(3, 2))).toContain('$0.0000 left');
  });

  it('counts turns and sizes', () => {
    expect(turns(1)).toBe('1 turn');
    expect(turns(3)).toBe('3 turns');
    expect(formatSize(512)).toBe('512 B');
    expect(formatSize(1536)).toBe('1.5 KB');
    expect(formatSize(2 * 1024 * 1024)).toBe('2.0 MB');
  });
});
