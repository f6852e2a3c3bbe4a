import { describe, expect, it } from "vitest";
import type { DocumentRecord } from "../bindings/DocumentRecord";
import type { LibraryEvent } from "../bindings/LibraryEvent";
import { applyLibraryEvent, counts, emptyLibrary, filterRows, progress, rows, type LibraryState } from "./library";

function doc(id: number, path: string, state: DocumentRecord["state"], extra: Partial<DocumentRecord> = {}): DocumentRecord {
  return {
    id,
    path,
    kind: "pdf",
    title: null,
    content_hash: "h",
    size_bytes: 10,
    mtime_ms: 0,
    state,
    failure: null,
    page_count: 3,
    chunk_count: 7,
    ocr_pages: 0,
    ...extra,
  };
}

function run(events: Array<[LibraryEvent, number]>, start: LibraryState = emptyLibrary): LibraryState {
  return events.reduce((s, [e, t]) => applyLibraryEvent(s, e, t), start);
}

describe("library progress", () => {
  it("measures progress in bytes, counts pages and passages, and estimates the time left from the start", () => {
    const s = run([
      [{ kind: "queued", job: 1, roots: ["/docs"] }, 0],
      [{ kind: "progress", job: 1, event: { event: "scanned", total: 10, bytes: 1000 } }, 1000],
      [{ kind: "progress", job: 1, event: { event: "stage", path: "/docs/a.pdf", stage: "extracting" } }, 1000],
      [{ kind: "progress", job: 1, event: { event: "file", path: "/docs/a.pdf", bytes: 150, outcome: { outcome: "indexed", chunks: 3, pages: 1, embedded: 3 } } }, 3000],
      [{ kind: "progress", job: 1, event: { event: "file", path: "/docs/b.pdf", bytes: 50, outcome: { outcome: "failed", code: "encrypted", message: "locked" } } }, 5000],
    ]);
    const p = progress(s, 5000);
    expect(p.running).toBe(true);
    expect(p.total).toBe(10);
    expect(p.done).toBe(2);
    expect([p.pages, p.chunks]).toEqual([1, 3]);
    // 200 of 1,000 bytes read: a fifth of the work, whatever the number of files.
    expect(p.fraction).toBeCloseTo(0.2);
    // 200 bytes in 4 s since the scan: 800 more take about 16 s.
    expect(p.etaSeconds).toBeCloseTo(16);
    expect(s.jobs[0]?.failed).toBe(1);
    expect(s.active).toEqual({});
  });

  it("shows a switch of embedders in passages, with the time left", () => {
    const s = run([
      [{ kind: "queued", job: 7, roots: ["embedder /m/embedders/multilingual-e5-small"] }, 0],
      [{ kind: "reembedding", job: 7, done: 0, total: 400 }, 1000],
      [{ kind: "reembedding", job: 7, done: 100, total: 400 }, 6000],
    ]);
    const p = progress(s, 6000);
    expect(p.reembed).toEqual({ done: 100, total: 400, etaSeconds: 15 });
    const t = applyLibraryEvent(s, { kind: "finished", job: 7, summary: { indexed: 0, unchanged: 0, failed: 0, renamed: 0, removed: 0, embedded: 400, kept: 0, unreadable_folders: 0 } }, 9000);
    expect(progress(t, 9000).reembed).toBeNull();
  });

  it("one large file is most of the work", () => {
    const s = run([
      [{ kind: "queued", job: 1, roots: ["/docs"] }, 0],
      [{ kind: "progress", job: 1, event: { event: "scanned", total: 3, bytes: 1000 } }, 0],
      [{ kind: "progress", job: 1, event: { event: "file", path: "/docs/note.md", bytes: 10, outcome: { outcome: "indexed", chunks: 1, pages: 0, embedded: 1 } } }, 1000],
      [{ kind: "progress", job: 1, event: { event: "file", path: "/docs/memo.md", bytes: 10, outcome: { outcome: "indexed", chunks: 1, pages: 0, embedded: 1 } } }, 2000],
    ]);
    const p = progress(s, 2000);
    expect(p.fraction).toBeCloseTo(0.02);
    expect(p.etaSeconds).toBeCloseTo(98);
  });

  it("has no estimate before the first file and stops when the job finishes", () => {
    let s = run([
      [{ kind: "queued", job: 4, roots: ["/x"] }, 0],
      [{ kind: "progress", job: 4, event: { event: "scanned", total: 3, bytes: 300 } }, 10],
    ]);
    expect(progress(s, 500).etaSeconds).toBeNull();
    s = applyLibraryEvent(s, { kind: "finished", job: 4, summary: { indexed: 3, unchanged: 0, failed: 0, renamed: 0, removed: 0, embedded: 9, kept: 0, unreadable_folders: 0 } }, 900);
    expect(progress(s, 1000).running).toBe(false);
    expect(s.jobs[0]?.state).toBe("finished");
  });

  it("adds up several queued jobs", () => {
    const s = run([
      [{ kind: "queued", job: 1, roots: ["/a"] }, 0],
      [{ kind: "queued", job: 2, roots: ["/b"] }, 0],
      [{ kind: "progress", job: 1, event: { event: "scanned", total: 4, bytes: 40 } }, 0],
    ]);
    expect(progress(s, 10)).toMatchObject({ running: true, total: 4, done: 0 });
    const t = applyLibraryEvent(s, { kind: "progress", job: 2, event: { event: "scanned", total: 6, bytes: 60 } }, 20);
    expect(progress(t, 30).total).toBe(10);
  });

  it("keeps a failed job's error", () => {
    const s = run([
      [{ kind: "queued", job: 1, roots: ["/a"] }, 0],
      [{ kind: "failed", job: 1, error: { code: "busy", message: "another Cairn" } }, 5],
    ]);
    expect(s.jobs[0]?.error?.code).toBe("busy");
    expect(progress(s, 10).running).toBe(false);
  });
});

describe("library notices", () => {
  it("says which folder could not be read and that its documents were kept, once", () => {
    const ev: LibraryEvent = {
      kind: "progress",
      job: 1,
      event: { event: "folder_unreadable", path: "/media/usb/papers", failure: { code: "unreadable", message: "its link target is gone" }, kept: 3 },
    };
    const s = run([[ev, 1], [ev, 2]]);
    expect(s.notices).toEqual(["Could not read /media/usb/papers: its link target is gone. Its 3 documents are kept as they were."]);
  });

  it("shows watcher failures in the window, not only in the log", () => {
    const unwatched: LibraryEvent = { kind: "watch_problem", folder: "/media/usb/papers", message: "No space left on device (inotify watches)" };
    const failed: LibraryEvent = { kind: "watch_problem", folder: null, message: "event queue overflow" };
    const s = run([[unwatched, 1], [failed, 2]]);
    expect(s.notices).toEqual([
      "Cannot watch /media/usb/papers for changes: No space left on device (inotify watches). Its files are read again when Cairn starts.",
      "The folder watcher failed (event queue overflow); every watched folder is scanned again.",
    ]);
  });

  it("shows an indexed document whose re-read failed with the reason and that it is kept", () => {
    const s: LibraryState = {
      ...emptyLibrary,
      documents: [doc(1, "/p/big.pdf", "indexed", { failure: { code: "timeout", message: "took longer than 90 s" } })],
    };
    const [row] = rows(s);
    expect(row?.state).toBe("indexed");
    expect(row?.reason).toContain("took longer than 90 s");
    expect(row?.reason).toContain("indexed version is kept");
  });
});

describe("OCR in the library", () => {
  it("shows the page OCR is on while it reads a scan, then that the text came from OCR", () => {
    const reading = run([
      [{ kind: "queued", job: 1, roots: ["/scans"] }, 0],
      [{ kind: "progress", job: 1, event: { event: "stage", path: "/scans/lease.pdf", stage: "extracting" } }, 10],
      [{ kind: "progress", job: 1, event: { event: "recognising", path: "/scans/lease.pdf", page: 3, pages: 40 } }, 20],
    ]);
    expect(rows(reading)[0]?.detail).toBe("Recognising page 3 of 40");
    const done = run(
      [[{ kind: "progress", job: 1, event: { event: "file", path: "/scans/lease.pdf", bytes: 5, outcome: { outcome: "indexed", chunks: 9, pages: 40, embedded: 9 } } }, 30]],
      { ...reading, documents: [doc(1, "/scans/lease.pdf", "indexed", { page_count: 40, ocr_pages: 40 })] },
    );
    const [row] = rows(done);
    expect(row?.detail).toBeNull();
    expect(row?.ocr).toBe("Text from OCR");
    const mixed = rows({ ...emptyLibrary, documents: [doc(2, "/p/mixed.pdf", "indexed", { page_count: 12, ocr_pages: 2 })] });
    expect(mixed[0]?.ocr).toBe("Text of 2 pages from OCR");
  });
});

describe("library rows", () => {
  const base: LibraryState = {
    documents: [
      doc(1, "/p/report.pdf", "indexed", { title: "Annual Report 2019" }),
      doc(2, "/p/scan.pdf", "failed", { failure: { code: "empty_document", message: "no text: a scan" }, chunk_count: 0 }),
      doc(3, "/p/notes.md", "queued", { kind: "markdown" }),
    ],
    jobs: [],
    active: { "/p/notes.md": "embedding", "/p/new.pdf": "extracting" },
    recognising: {},
    notices: [],
  };

  it("shows the live stage over the catalog state and lists files the catalog has not seen", () => {
    const r = rows(base);
    expect(r.map((x) => [x.path, x.state])).toEqual([
      ["/p/report.pdf", "indexed"],
      ["/p/scan.pdf", "failed"],
      ["/p/notes.md", "embedding"],
      ["/p/new.pdf", "extracting"],
    ]);
    expect(r[1]?.reason).toBe("no text: a scan");
    expect(r[3]?.id).toBeNull();
  });

  it("filters by words of the name or title and by state", () => {
    const r = rows(base);
    expect(filterRows(r, "annual 2019", "all").map((x) => x.id)).toEqual([1]);
    expect(filterRows(r, "", "failed").map((x) => x.id)).toEqual([2]);
    expect(filterRows(r, "", "working").map((x) => x.path)).toEqual(["/p/notes.md", "/p/new.pdf"]);
    expect(filterRows(r, "nothing-like-this", "all")).toEqual([]);
    expect(counts(r)).toEqual({ all: 4, indexed: 1, failed: 1, working: 2 });
  });
});
