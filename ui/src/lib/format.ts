import type { FusionTuning } from "./bindings/FusionTuning";
/** The file name of a path (either separator). */
export function basename(path: string): string {
  const parts = path.split(/[\\/]/).filter((p) => p.length > 0);
  return parts[parts.length - 1] ?? path;
}

/** The folder of a path, for a second line under the name. */
export function dirname(path: string): string {
  const i = Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\"));
  return i > 0 ? path.slice(0, i) : "";
}

/** "about 3 min", "about 40 s", "less than 5 s". */
export function duration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "";
  if (seconds < 5) return "less than 5 s";
  if (seconds < 60) return `about ${Math.round(seconds / 5) * 5} s`;
  if (seconds < 3600) return `about ${Math.round(seconds / 60)} min`;
  const h = Math.floor(seconds / 3600);
  const m = Math.round((seconds % 3600) / 60);
  return m > 0 ? `about ${h} h ${m} min` : `about ${h} h`;
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** "4.9 GB", "812 MB", "96 kB": sizes as download pages show them (powers of 1000). */
export function bytes(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)} GB`;
  if (n >= 1e6) return `${Math.round(n / 1e6)} MB`;
  if (n >= 1e3) return `${Math.round(n / 1e3)} kB`;
  return `${n} B`;
}

/** The library view's line on how search is tuned, or null before the first tuning. */
export function tuningLine(t: FusionTuning | null): string | null {
  if (!t) return null;
  const shares = (t.languages ?? []).filter((l) => l.share >= 0.01);
  const languages = shares.length
    ? ` Passages in ${shares.map((l) => `${l.name || l.language} ${Math.round(l.share * 100)}%`).join(", ")}: questions in other languages are searched more by meaning.`
    : "";
  const gate = t.gate
    ? ` Questions go to the model when a passage reaches similarity ${t.gate.min_similarity.toFixed(3)}; everyday questions reach ${t.gate.background_median.toFixed(3)} here (median), so Cairn says itself when your documents do not tell.`
    : "";
  if (t.note) return `Search uses balanced fusion: ${t.note}.${languages}${gate}`;
  const bm25 = Math.round(t.fusion.bm25_weight / Math.max(1e-9, t.fusion.bm25_weight + t.fusion.vector_weight) * 100);
  const weights = bm25 === 100 ? "by keywords alone" : bm25 === 0 ? "by meaning alone" : `${bm25}% by keywords, ${100 - bm25}% by meaning`;
  const fmt = (x: number) => x.toFixed(2);
  return `Search tuned for this library: ${weights}. Self-check on ${t.probes} sentences drawn from your documents (a check of these weights, not a promise for every question): ${fmt(t.scores.chosen)} (keywords ${fmt(t.scores.bm25)}, meaning ${fmt(t.scores.vector)}, balanced ${fmt(t.scores.balanced)}).${languages}${gate}`;
}
