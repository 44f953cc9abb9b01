/**
 * The messages of the `rho-agent` comm, as the kernel sends and takes them
 * (`rho_agent/notebook/comm.py` and `sidebar_state.py` define them in Python).
 */

/** The comm target the kernel registers on `%load_ext rho_agent`. */
export const COMM_TARGET = 'rho-agent';

export interface IRunInfo {
  id: string;
  prompt: string;
  status: string;
  elapsed_s: number;
  turns: number;
  cost_usd: number;
  /** A cell waits for this run: the kernel is busy with it. */
  blocks_cell: boolean;
}

export interface ISessionInfo {
  name: string;
  backend: string;
  profile: string;
  model: string;
  status: 'running' | 'open' | 'closed';
  runs: number;
  turns: number;
  cost_usd: number;
  session_id: string | null;
  recent: IRunInfo[];
}

export interface ISandboxInfo {
  session: string;
  kind: string;
  id: string | null;
  state: string;
  age_s: number;
}

export interface IState {
  type: 'state';
  sessions: ISessionInfo[];
  sandboxes: ISandboxInfo[];
  cost_usd: number;
  budget_usd: number | null;
  defaults: Record<string, unknown>;
}

/** A prompt run from the sidebar, streamed (`run_update`) until it ends (`run_done`). */
export interface IRunStream {
  type: 'run_update' | 'run_done';
  id: string;
  session: string;
  status: string;
  text: string;
  /** `text` as Markdown that reads as written (no math, no HTML). */
  markdown: string;
  log: string[];
  summary: string;
  error: string | null;
}

export interface IFileEntry {
  path: string;
  size: number;
}

export interface IFiles {
  type: 'files';
  id: string;
  session: string;
  root: string;
  files: IFileEntry[];
  truncated: boolean;
}

export interface IDownloaded {
  type: 'downloaded';
  id: string;
  session: string;
  remote: string;
  path: string;
}

export interface IUploaded {
  type: 'uploaded';
  id: string;
  session: string;
  local: string;
  path: string;
}

export interface IError {
  type: 'error';
  id: string | null;
  message: string;
}

/** A background run ended: its outputs, for the cell that started it. */
export interface IAnswer {
  type: 'answer';
  id: string;
  cell_id: string;
  session: string;
  kind: string;
  /** Mime bundles, each a display_data output (Markdown with a text fallback, the log). */
  outputs: Record<string, string>[];
}

export type KernelMessage =
  IState | IRunStream | IFiles | IDownloaded | IUploaded | IError | IAnswer;

export type Request =
  | { type: 'hello' }
  | { type: 'cancel'; session: string; run?: string }
  | { type: 'cancel_all' }
  | { type: 'run'; id: string; session?: string; prompt: string }
  | { type: 'list_files'; id: string; session?: string; directory?: string }
  | {
      type: 'download';
      id: string;
      session?: string;
      remote: string;
      local: string;
    }
  | {
      type: 'upload';
      id: string;
      session?: string;
      local: string;
      remote?: string;
    }
  | { type: 'end_session'; session: string }
  | { type: 'delivered'; answer: string }
  | {
      type: 'configure';
      defaults: Record<string, string>;
      budget_usd?: number | null;
    };
