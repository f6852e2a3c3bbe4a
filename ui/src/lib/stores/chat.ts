// A chat as the window shows it: each question with its streamed answer, sources and
// citations, built from the app's answer events or from a stored chat.
import type { PageUnit } from "../bindings/PageUnit";
import type { AskEvent } from "../bindings/AskEvent";
import type { Citation } from "../bindings/Citation";
import type { Source } from "../bindings/Source";
import type { Timings } from "../bindings/Timings";
import type { AppError } from "../bindings/AppError";
import type { StoredMessage } from "../bindings/StoredMessage";

export type TurnStatus = "searching" | "answering" | "done" | "refused" | "cancelled" | "error";

export interface Turn {
  askId: string;
  question: string;
  answer: string;
  status: TurnStatus;
  sources: Source[];
  citations: Citation[];
  uncited: number[];
  timings: Timings | null;
  /** Why nothing was answered, when the documents do not tell. */
  refusal: string | null;
  /** Why the model stopped mid-answer (a served model that stalled): what it said is kept. */
  interruption: string | null;
  error: AppError | null;
}

export function newTurn(askId: string, question: string): Turn {
  return {
    askId,
    question,
    answer: "",
    status: "searching",
    sources: [],
    citations: [],
    uncited: [],
    timings: null,
    refusal: null,
    interruption: null,
    error: null,
  };
}

/** The turn after one answer event. */
export function applyAskEvent(turn: Turn, ev: AskEvent): Turn {
  switch (ev.event) {
    case "started":
      return turn;
    case "retrieved":
      return { ...turn, status: "answering", sources: ev.sources };
    case "token":
      return { ...turn, status: "answering", answer: turn.answer + ev.text };
    case "refused":
      return { ...turn, status: "refused", refusal: ev.message, answer: "" };
    case "done":
      return {
        ...turn,
        status: ev.outcome === "cancelled" ? "cancelled" : "done",
        answer: ev.answer,
        citations: ev.citations,
        uncited: ev.uncited,
        timings: ev.timings,
        interruption: ev.interruption,
      };
  }
}

export function failTurn(turn: Turn, error: AppError): Turn {
  return { ...turn, status: "error", error };
}

/** The chat id an answer started (or continued). */
export function chatIdOf(ev: AskEvent): number | null {
  return ev.event === "started" ? ev.chat_id : null;
}

export type Segment =
  | { kind: "text"; text: string }
  | { kind: "cite"; n: number; citation: Citation | null; source: Source | null };

const MARKER = /\[(\d+(?:\s*[,;]\s*\d+)*)\]/g;

/** The answer cut into text and citation chips: `[2]`, `[1, 3]` and `[1][3]` become chips
 * for the sources that exist; other brackets stay text. */
export function segments(answer: string, citations: Citation[], sources: Source[]): Segment[] {
  const out: Segment[] = [];
  const known = (n: number) => citations.some((c) => c.n === n) || sources.some((s) => s.n === n);
  let last = 0;
  for (const m of answer.matchAll(MARKER)) {
    const numbers = (m[1] ?? "").split(/[,;]/).map((s) => Number.parseInt(s.trim(), 10));
    if (!numbers.every(known)) continue;
    const at = m.index ?? 0;
    if (at > last) out.push({ kind: "text", text: answer.slice(last, at) });
    for (const n of numbers) {
      out.push({
        kind: "cite",
        n,
        citation: citations.find((c) => c.n === n) ?? null,
        source: sources.find((s) => s.n === n) ?? null,
      });
    }
    last = at + m[0].length;
  }
  if (last < answer.length) out.push({ kind: "text", text: answer.slice(last) });
  return out;
}

/** What a chip shows and where its passage is: the cited sentence once the answer is done,
 * the retrieved passage while it streams. */
export interface ChipTarget {
  n: number;
  documentId: number;
  path: string;
  page: number | null;
  /** Whether `page` is a printed page or a slide. */
  unit: PageUnit;
  start: number;
  end: number;
}

/** "page 3" or "slide 3". */
export function pageLabel(unit: PageUnit, page: number): string {
  return `${unit === "slide" ? "slide" : "page"} ${page}`;
}

export function chipTarget(seg: Extract<Segment, { kind: "cite" }>): ChipTarget | null {
  if (seg.citation) {
    const c = seg.citation;
    return { n: seg.n, documentId: c.document_id, path: c.document_path, page: c.page, unit: c.page_unit, start: c.quote_start, end: c.quote_end };
  }
  if (seg.source) {
    const h = seg.source.hit;
    return {
      n: seg.n,
      documentId: h.chunk.document_id,
      path: h.document_path,
      page: h.chunk.page_start,
      unit: h.chunk.page_unit,
      start: h.chunk.start,
      end: h.chunk.end,
    };
  }
  return null;
}

/** The turns of a stored chat: each question with the answer that followed it. */
export function turnsFromMessages(messages: StoredMessage[]): Turn[] {
  const turns: Turn[] = [];
  for (const m of messages) {
    if (m.role === "user") {
      turns.push({ ...newTurn(`stored-${m.id}`, m.content), status: "done" });
      continue;
    }
    const turn = turns[turns.length - 1];
    if (!turn || m.role !== "assistant") continue;
    turn.answer = m.content;
    turn.citations = m.citations;
    if (m.outcome === "refused") {
      turn.status = "refused";
      turn.refusal = m.content;
      turn.answer = "";
    } else if (m.outcome === "cancelled") {
      turn.status = "cancelled";
    }
  }
  return turns;
}
