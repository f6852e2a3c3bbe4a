import { describe, expect, it } from "vitest";
import type { Citation } from "../bindings/Citation";
import type { Source } from "../bindings/Source";
import type { StoredMessage } from "../bindings/StoredMessage";
import { applyAskEvent, chipTarget, newTurn, segments, turnsFromMessages } from "./chat";

function source(n: number, path: string, start: number, end: number, page: number | null): Source {
  return {
    n,
    tokens: 10,
    hit: {
      chunk: {
        id: `c${n}`,
        document_id: n * 10,
        ordinal: 0,
        text: "passage",
        start,
        end,
        page_start: page,
        page_end: page,
        page_unit: "page",
        heading_path: [],
        token_count: 5,
      },
      document_path: path,
      document_title: null,
      score: 0.5,
      bm25: null,
      vector: null,
    },
  };
}

function citation(n: number, start: number, end: number, page: number | null): Citation {
  return {
    n,
    chunk_id: `c${n}`,
    document_id: n * 10,
    document_path: `/d/${n}.pdf`,
    document_title: null,
    page,
    page_unit: "page",
    heading_path: [],
    quote: "quoted sentence",
    quote_start: start,
    quote_end: end,
    verified: true,
    inferred: false,
  };
}

const timings = {
  retrieval_ms: 5,
  time_to_first_token_ms: 100,
  generation_ms: 900,
  prompt_tokens: 300,
  generated_tokens: 12,
  prompt_tokens_per_s: 3000,
  decode_tokens_per_s: 13,
};

describe("answer events", () => {
  it("streams tokens, then takes the final answer and its citations", () => {
    let t = newTurn("a1", "When did Tesla die?");
    t = applyAskEvent(t, { event: "started", chat_id: 3, retrieval_query: "When did Tesla die?" });
    expect(t.status).toBe("searching");
    t = applyAskEvent(t, {
      event: "retrieved",
      sources: [source(1, "/d/1.pdf", 0, 50, 2)],
      budget: { context_window: 8192, answer_tokens: 512, prompt_tokens: 300, source_tokens_available: 7000, source_tokens_used: 60, history_turns_dropped: 0, dropped: [] },
      retrieval_ms: 5,
    });
    t = applyAskEvent(t, { event: "token", text: "In 1943" });
    t = applyAskEvent(t, { event: "token", text: " [1]." });
    expect(t.status).toBe("answering");
    expect(t.answer).toBe("In 1943 [1].");
    t = applyAskEvent(t, {
      event: "done",
      answer: "In 1943 [1].",
      outcome: "answered",
      stop: "end_of_answer",
      citations: [citation(1, 12, 27, 2)],
      uncited: [],
      timings,
      interruption: null,
      message_id: 9,
    });
    expect(t.status).toBe("done");
    expect(t.citations).toHaveLength(1);
    expect(t.timings?.generated_tokens).toBe(12);
  });

  it("marks a stopped answer as cancelled and a refusal as refused", () => {
    const stopped = applyAskEvent(newTurn("a", "q"), {
      event: "done", answer: "Partial", outcome: "cancelled", stop: "cancelled", citations: [], uncited: [], timings, interruption: null, message_id: 1,
    });
    expect(stopped.status).toBe("cancelled");
    expect(stopped.interruption).toBeNull();
    const refused = applyAskEvent(newTurn("b", "q"), {
      event: "refused", message: "Your documents do not say.", reason: "not_relevant", searched: ["a.pdf"], best_similarity: 0.1, min_similarity: 0.84, message_id: 2,
    });
    expect(refused.status).toBe("refused");
    const cut = applyAskEvent(newTurn("c", "q"), {
      event: "done", answer: "The Normans were", outcome: "answered", stop: "interrupted", citations: [], uncited: [], timings,
      interruption: "the model server at http://gpu:8000/v1 stopped sending mid-answer: nothing for 60 s, so the answer ends here", message_id: 3,
    });
    expect(cut.answer).toBe("The Normans were");
    expect(cut.interruption).toContain("stopped sending mid-answer");
    expect(refused.refusal).toBe("Your documents do not say.");
  });
});

describe("citation chips", () => {
  const sources = [source(1, "/d/1.pdf", 0, 50, 2), source(2, "/d/2.md", 100, 180, null)];

  it("turns known markers into chips and leaves other brackets as text", () => {
    const segs = segments("Tesla died in 1943 [1][2], see [3] and [1, 2]. [note]", [], sources);
    const chips = segs.filter((s) => s.kind === "cite").map((s) => (s.kind === "cite" ? s.n : 0));
    expect(chips).toEqual([1, 2, 1, 2]);
    const text = segs.filter((s) => s.kind === "text").map((s) => (s.kind === "text" ? s.text : "")).join("|");
    expect(text).toBe("Tesla died in 1943 |, see [3] and |. [note]");
  });

  it("points a chip at the cited sentence once known, else at the retrieved passage", () => {
    const streaming = segments("Yes [1].", [], sources)[1];
    expect(streaming?.kind).toBe("cite");
    if (streaming?.kind === "cite") {
      expect(chipTarget(streaming)).toEqual({ n: 1, documentId: 10, path: "/d/1.pdf", page: 2, unit: "page", start: 0, end: 50 });
    }
    const done = segments("Yes [1].", [citation(1, 12, 27, 3)], sources)[1];
    if (done?.kind === "cite") {
      expect(chipTarget(done)).toMatchObject({ start: 12, end: 27, page: 3 });
    }
  });

  it("rebuilds the turns of a stored chat", () => {
    const m = (id: number, role: StoredMessage["role"], content: string, outcome: StoredMessage["outcome"], cites: Citation[] = []): StoredMessage => ({
      id, chat_id: 1, role, content, outcome, citations: cites, model: null, details: null, created_ms: id,
    });
    const turns = turnsFromMessages([
      m(1, "user", "first?", null),
      m(2, "assistant", "An answer [1].", "answered", [citation(1, 0, 5, 1)]),
      m(3, "user", "second?", null),
      m(4, "assistant", "Not in your documents.", "refused"),
    ]);
    expect(turns.map((t) => [t.question, t.status])).toEqual([["first?", "done"], ["second?", "refused"]]);
    expect(turns[0]?.citations).toHaveLength(1);
    expect(turns[1]?.refusal).toBe("Not in your documents.");
  });
});
