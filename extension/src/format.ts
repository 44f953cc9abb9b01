/**
 * Text the sidebar shows: costs, durations, the kernel's total and budget.
 * Pure functions, tested without a browser.
 */
import { IState } from './protocol';

export function formatCost(usd: number): string {
  return `$${usd.toFixed(4)}`;
}

/** `4.2s`, `3m 05s`, `1h 02m`. */
export function formatElapsed(seconds: number): string {
  const s = Math.max(0, seconds);
  if (s < 60) {
    return `${s.toFixed(1)}s`;
  }
  const whole = Math.floor(s);
  const pad = (n: number) => String(n).padStart(2, '0');
  if (whole < 3600) {
    return `${Math.floor(whole / 60)}m ${pad(whole % 60)}s`;
  }
  return `${Math.floor(whole / 3600)}h ${pad(Math.floor((whole % 3600) / 60))}m`;
}

/** `Cost in this kernel: $0.0123 · budget $5.0000, $4.9877 left`. */
export function totalLine(state: IState): string {
  const total = `Cost in this kernel: ${formatCost(state.cost_usd)}`;
  if (state.budget_usd === null) {
    return total;
  }
  const left = Math.max(state.budget_usd - state.cost_usd, 0);
  return `${total} · budget ${formatCost(state.budget_usd)}, ${formatCost(left)} left`;
}

/** `3 turns`, `1 turn`. */
export function turns(n: number): string {
  return `${n} turn${n === 1 ? '' : 's'}`;
}

/** A file size as people read it: `512 B`, `1.5 KB`, `2.0 MB`. */
export function formatSize(bytes: number): string {
  if (bytes < 1024) {
    return `${bytes} B`;
  }
  const units = ['KB', 'MB', 'GB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}
