import { describe, expect, it } from "vitest";
import { applyModelEvent, noDownload } from "./downloads";
import { bytes } from "../format";

describe("model downloads", () => {
  it("follows a download through progress, pause, resume and installation", () => {
    let v = applyModelEvent(noDownload, { kind: "progress", name: "m", done: 2e9, total: 4.9e9, bytes_per_s: 5e7, eta_s: 58 });
    expect([v.state, v.done, v.etaS]).toEqual(["downloading", 2e9, 58]);
    v = applyModelEvent(v, { kind: "paused", name: "m" });
    expect([v.state, v.done, v.etaS]).toEqual(["paused", 2e9, null]);
    v = applyModelEvent(v, { kind: "progress", name: "m", done: 2.1e9, total: 4.9e9, bytes_per_s: 5e7, eta_s: 56 });
    expect(v.state).toBe("downloading");
    v = applyModelEvent(v, { kind: "installed", name: "m", path: "/models/m.gguf" });
    expect([v.state, v.path]).toEqual(["installed", "/models/m.gguf"]);
  });

  it("keeps the reason of a failure and forgets a cancelled download", () => {
    const failed = applyModelEvent(noDownload, { kind: "failed", name: "m", error: { code: "internal", message: "the downloaded file is damaged" } });
    expect(failed.error).toContain("damaged");
    const cancelled = applyModelEvent(failed, { kind: "cancelled", name: "m" });
    expect([cancelled.state, cancelled.done, cancelled.error]).toEqual(["cancelled", 0, null]);
  });

  it("shows sizes as download pages do", () => {
    expect(bytes(4_920_739_232)).toBe("4.9 GB");
    expect(bytes(90_400_000)).toBe("90 MB");
  });
});
