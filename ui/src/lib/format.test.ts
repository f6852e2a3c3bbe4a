import { describe, expect, it } from "vitest";
import { basename, dirname, duration, plural, tuningLine } from "./format";
import type { FusionTuning } from "./bindings/FusionTuning";

describe("format", () => {
  it("names files on either separator", () => {
    expect(basename("/home/a/report.pdf")).toBe("report.pdf");
    expect(basename("C:\\Users\\a\\notes.md")).toBe("notes.md");
    expect(dirname("/home/a/report.pdf")).toBe("/home/a");
  });
  it("says durations in rounded words", () => {
    expect(duration(2)).toBe("less than 5 s");
    expect(duration(42)).toBe("about 40 s");
    expect(duration(600)).toBe("about 10 min");
    expect(duration(5400)).toBe("about 1 h 30 min");
    expect(duration(Number.NaN)).toBe("");
    expect(plural(1, "file")).toBe("1 file");
    expect(plural(3, "file")).toBe("3 files");
  });
  it("says how search is tuned, in words", () => {
    const t: FusionTuning = {
      fusion: { method: "rrf", k: 60, bm25_weight: 0.8, vector_weight: 0.2 },
      scores: { bm25: 0.912, vector: 0.304, balanced: 0.85, chosen: 0.931 },
      probes: 200,
      embedder: "all-MiniLM-L6-v2",
      chunks: 1200,
      tuned_at_ms: 0,
      note: null,
      languages: null,
      gate: null,
    };
    expect(tuningLine(null)).toBeNull();
    expect(tuningLine(t)).toBe(
      "Search tuned for this library: 80% by keywords, 20% by meaning. Self-check on 200 sentences drawn from your documents (a check of these weights, not a promise for every question): 0.93 (keywords 0.91, meaning 0.30, balanced 0.85).",
    );
    expect(tuningLine({ ...t, fusion: { ...t.fusion, bm25_weight: 1, vector_weight: 0 } })).toContain("by keywords alone");
    expect(tuningLine({ ...t, note: "12 probe queries could be drawn" })).toBe("Search uses balanced fusion: 12 probe queries could be drawn.");
    const german = [
      { language: "deu", name: "German", share: 0.97 },
      { language: "eng", name: "English", share: 0.025 },
      { language: "fra", name: "French", share: 0.005 },
    ];
    expect(tuningLine({ ...t, languages: german })).toContain(
      "(keywords 0.91, meaning 0.30, balanced 0.85). Passages in German 97%, English 3%: questions in other languages are searched more by meaning.",
    );
    const gate = { min_similarity: 0.8412, questions: 60, background_p25: 0.79, background_median: 0.8, background_p75: 0.81, background_p90: 0.83, background_max: 0.86, languages: [] };
    expect(tuningLine({ ...t, gate })).toContain(
      "Questions go to the model when a passage reaches similarity 0.841; everyday questions reach 0.800 here (median)",
    );
  });
});
