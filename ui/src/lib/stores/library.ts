// The library as the window shows it: the catalog's documents, merged with what the running
// ingest jobs report (the stage of each file, progress and time left).
import type { DocumentRecord } from "../bindings/DocumentRecord";
import type { LibraryEvent } from "../bindings/LibraryEvent";
import type { JobSummary } from "../bindings/JobSummary";
import type { AppError } from "../bindings/AppError";
import type { Stage } from "../bindings/Stage";

export type JobState = "queued" | "running" | "finished" | "failed";

export interface Job {
  job: number;
  roots: string[];
  state: JobState;
  /** Files the job will look at, once scanned. */
  total: number | null;
  done: number;
  failed: number;
  /** Bytes of the files found, and of those done: the measure of progress. */
  totalBytes: number;
  doneBytes: number;
  /** Pages and passages indexed so far. */
  pages: number;
  chunks: number;
  /** A switch of embedders: passages re-embedded so far, of all. */
  reembed: { done: number; total: number } | null;
  /** When the scan finished (ms), the start of the rate estimate. */
  startedAt: number | null;
  finishedAt: number | null;
  summary: JobSummary | null;
  error: AppError | null;
}

export interface LibraryState {
  documents: DocumentRecord[];
  jobs: Job[];
  /** Files being worked on, by path. */
  active: Record<string, Stage>;
  /** Files OCR is reading, by path: the page it is on, of how many. */
  recognising: Record<string, { page: number; pages: number }>;
  /** Things a person should know that are not one document's state: folders that could not
   * be read (their documents kept), watcher errors. Newest last, without repeats. */
  notices: string[];
}

export type RowState = "queued" | "extracting" | "embedding" | "indexed" | "failed";

export interface Row {
  key: string;
  id: number | null;
  path: string;
  title: string | null;
  state: RowState;
  reason: string | null;
  /** What is happening to the file now, beyond its state: "Recognising page 3 of 40". */
  detail: string | null;
  /** "Text from OCR" (every page) or "Text of 3 pages from OCR". */
  ocr: string | null;
  pages: number;
  chunks: number;
}

export const emptyLibrary: LibraryState = { documents: [], jobs: [], active: {}, recognising: {}, notices: [] };

/** The state with `notice` added (once; the last 5 are kept). */
export function addNotice(state: LibraryState, notice: string): LibraryState {
  const notices = [...state.notices.filter((n) => n !== notice), notice].slice(-5);
  return { ...state, notices };
}

function updateJob(state: LibraryState, job: number, f: (j: Job) => Job): Job[] {
  return state.jobs.map((j) => (j.job === job ? f(j) : j));
}

/** The state after one event from the app; `now` is the time in ms. */
export function applyLibraryEvent(state: LibraryState, ev: LibraryEvent, now: number): LibraryState {
  switch (ev.kind) {
    case "queued":
      return {
        ...state,
        jobs: [
          ...state.jobs,
          {
            job: ev.job,
            roots: ev.roots,
            state: "queued",
            total: null,
            done: 0,
            failed: 0,
            totalBytes: 0,
            doneBytes: 0,
            pages: 0,
            chunks: 0,
            reembed: null,
            startedAt: null,
            finishedAt: null,
            summary: null,
            error: null,
          },
        ],
      };
    case "progress": {
      const e = ev.event;
      switch (e.event) {
        case "scanned":
          return {
            ...state,
            jobs: updateJob(state, ev.job, (j) => ({
              ...j,
              state: "running",
              total: (j.total ?? 0) + e.total,
              totalBytes: j.totalBytes + e.bytes,
              startedAt: j.startedAt ?? now,
            })),
          };
        case "stage":
          return {
            ...state,
            jobs: updateJob(state, ev.job, (j) => ({ ...j, state: "running", startedAt: j.startedAt ?? now })),
            active: { ...state.active, [e.path]: e.stage },
          };
        case "recognising":
          return { ...state, recognising: { ...state.recognising, [e.path]: { page: e.page, pages: e.pages } } };
        case "file": {
          const active = { ...state.active };
          delete active[e.path];
          const recognising = { ...state.recognising };
          delete recognising[e.path];
          const failed = e.outcome.outcome === "failed" ? 1 : 0;
          const o = e.outcome;
          const [pages, chunks] = o.outcome === "indexed" ? [o.pages, o.chunks] : [0, 0];
          return {
            ...state,
            active,
            recognising,
            jobs: updateJob(state, ev.job, (j) => ({
              ...j,
              done: j.done + 1,
              failed: j.failed + failed,
              doneBytes: j.doneBytes + e.bytes,
              pages: j.pages + pages,
              chunks: j.chunks + chunks,
            })),
          };
        }
        case "committed":
          return state;
        case "folder_unreadable":
          return addNotice(
            state,
            `Could not read ${e.path}: ${e.failure.message}. Its ${e.kept === 1 ? "1 document is" : `${e.kept} documents are`} kept as they were.`,
          );
      }
      return state;
    }
    case "finished":
      return {
        ...state,
        jobs: updateJob(state, ev.job, (j) => ({ ...j, state: "finished", finishedAt: now, summary: ev.summary })),
      };
    case "failed":
      return {
        ...state,
        jobs: updateJob(state, ev.job, (j) => ({ ...j, state: "failed", finishedAt: now, error: ev.error })),
      };
    case "changed":
      return state;
    case "reembedding":
      return {
        ...state,
        jobs: updateJob(state, ev.job, (j) => ({
          ...j,
          state: "running",
          startedAt: j.startedAt ?? now,
          reembed: { done: ev.done, total: ev.total },
        })),
      };
    case "watch_problem":
      return addNotice(
        state,
        ev.folder
          ? `Cannot watch ${ev.folder} for changes: ${ev.message}. Its files are read again when Cairn starts.`
          : `The folder watcher failed (${ev.message}); every watched folder is scanned again.`,
      );
  }
}

export interface Progress {
  running: boolean;
  total: number;
  done: number;
  /** Pages and passages indexed so far. */
  pages: number;
  chunks: number;
  /** 0..1 (of the bytes to read), or null before the first scan. */
  fraction: number | null;
  /** Seconds left at the average speed since the start, once some work is done. */
  etaSeconds: number | null;
  /** A switch of embedders under way: passages done, all, and seconds left. */
  reembed: { done: number; total: number; etaSeconds: number | null } | null;
}

/** Overall progress of the unfinished jobs. */
export function progress(state: LibraryState, now: number): Progress {
  const open = state.jobs.filter((j) => j.state === "queued" || j.state === "running");
  if (open.length === 0) return { running: false, total: 0, done: 0, pages: 0, chunks: 0, fraction: null, etaSeconds: null, reembed: null };
  const switching = open.find((j) => j.reembed !== null);
  let reembed: Progress["reembed"] = null;
  if (switching?.reembed) {
    const { done: d, total: t } = switching.reembed;
    const since = switching.startedAt ?? now;
    reembed = { done: d, total: t, etaSeconds: d > 0 && now > since ? ((now - since) / 1000 / d) * (t - d) : null };
  }
  const total = open.reduce((s, j) => s + (j.total ?? 0), 0);
  const done = open.reduce((s, j) => s + j.done, 0);
  const totalBytes = open.reduce((s, j) => s + j.totalBytes, 0);
  const doneBytes = open.reduce((s, j) => s + j.doneBytes, 0);
  // Bytes measure the work better than files (one large PDF against many notes).
  const [work, worked] = totalBytes > 0 ? [totalBytes, doneBytes] : [total, done];
  const scanned = open.some((j) => j.total !== null);
  const started = open
    .map((j) => j.startedAt)
    .filter((t): t is number => t !== null)
    .reduce((a, b) => Math.min(a, b), Infinity);
  let etaSeconds: number | null = null;
  if (worked > 0 && Number.isFinite(started) && now > started) {
    const perUnit = (now - started) / 1000 / worked;
    etaSeconds = Math.max(0, (work - worked) * perUnit);
  }
  return {
    running: true,
    total,
    done,
    pages: open.reduce((s, j) => s + j.pages, 0),
    chunks: open.reduce((s, j) => s + j.chunks, 0),
    fraction: scanned && work > 0 ? Math.min(1, worked / work) : null,
    etaSeconds,
    reembed,
  };
}

function rowStateOf(doc: DocumentRecord, stage: Stage | undefined): RowState {
  if (stage) return stage;
  switch (doc.state) {
    case "indexed":
      return "indexed";
    case "failed":
      return "failed";
    case "extracted":
      return "embedding";
    case "queued":
      return "queued";
  }
}

/** One row per document, plus files in progress the catalog does not list yet. */
export function rows(state: LibraryState): Row[] {
  const seen = new Set<string>();
  const out: Row[] = state.documents.map((d) => {
    seen.add(d.path);
    return {
      key: `doc-${d.id}`,
      id: d.id,
      path: d.path,
      title: d.title,
      state: rowStateOf(d, state.active[d.path]),
      reason:
        d.state === "failed"
          ? (d.failure?.message ?? "failed")
          : d.failure
            ? `Reading it again failed (${d.failure.message}); the indexed version is kept and it is tried again later`
            : null,
      detail: recognisingDetail(state, d.path),
      ocr: ocrNote(d),
      pages: d.page_count,
      chunks: d.chunk_count,
    };
  });
  for (const [path, stage] of Object.entries(state.active)) {
    if (!seen.has(path)) {
      out.push({ key: `new-${path}`, id: null, path, title: null, state: stage, reason: null, detail: recognisingDetail(state, path), ocr: null, pages: 0, chunks: 0 });
    }
  }
  return out;
}

function recognisingDetail(state: LibraryState, path: string): string | null {
  const r = state.recognising[path];
  return r ? `Recognising page ${r.page} of ${r.pages}` : null;
}

function ocrNote(d: DocumentRecord): string | null {
  if (d.ocr_pages === 0 || d.state !== "indexed") return null;
  if (d.ocr_pages >= d.page_count) return "Text from OCR";
  return `Text of ${d.ocr_pages === 1 ? "1 page" : `${d.ocr_pages} pages`} from OCR`;
}

export type StateFilter = "all" | "indexed" | "failed" | "working";

/** Rows whose name, title or path contain every word of `query`, in the chosen state. */
export function filterRows(all: Row[], query: string, which: StateFilter): Row[] {
  const words = query.toLowerCase().split(/\s+/).filter((w) => w.length > 0);
  return all.filter((r) => {
    if (which === "indexed" && r.state !== "indexed") return false;
    if (which === "failed" && r.state !== "failed") return false;
    if (which === "working" && (r.state === "indexed" || r.state === "failed")) return false;
    const hay = `${r.path} ${r.title ?? ""}`.toLowerCase();
    return words.every((w) => hay.includes(w));
  });
}

/** Counts for the filter buttons. */
export function counts(all: Row[]): Record<StateFilter, number> {
  const c: Record<StateFilter, number> = { all: all.length, indexed: 0, failed: 0, working: 0 };
  for (const r of all) {
    if (r.state === "indexed") c.indexed++;
    else if (r.state === "failed") c.failed++;
    else c.working++;
  }
  return c;
}
