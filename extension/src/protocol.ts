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
  /** Left running when its session ends (`--keep`, or Keep in the sidebar). */
  kept: boolean;
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

/** One entry of a workspace folder. */
export interface IFileEntry {
  name: string;
  folder: boolean;
  size: number;
}

/** What one folder of a session's workspace holds (`directory`, relative to its root). */
export interface IFiles {
  type: 'files';
  id: string;
  session: string;
  directory: string;
  /** The folder's absolute path in the workspace. */
  root: string;
  entries: IFileEntry[];
  truncated: boolean;
}

export interface IKept {
  type: 'kept';
  id: string;
  session: string;
  sandbox: string;
}

/** A call of a sidebar run (`run`: the run request's id) waits for Allow or Deny. */
export interface IApproval {
  type: 'approval';
  id: string;
  run: string;
  session: string;
  tool: string;
  /** The tool's one-line summary of the call (its command, its path). */
  summary: string;
}

/** The question `id` needs no answer any more (answered, or its run ended). */
export interface IApprovalDone {
  type: 'approval_done';
  id: string;
  run: string;
}

export interface IDownloaded {
  type: 'downloaded';
  id: string;
  session: string;
  remote: string;
  path: string;
}

/** How far the transfer `id` has got (sent for 8 MB or more, before its answer). */
export interface IProgress {
  type: 'progress';
  id: string;
  done: number;
  total: number;
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
  | IState
  | IRunStream
  | IFiles
  | IDownloaded
  | IUploaded
  | IProgress
  | IKept
  | IApproval
  | IApprovalDone
  | IError
  | IAnswer;

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
  | { type: 'keep'; id: string; session: string }
  | { type: 'approve'; approval: string; allow: boolean }
  | { type: 'delivered'; answer: string }
  | {
      type: 'configure';
      defaults: Record<string, string>;
      budget_usd?: number | null;
    };
