import { describe, expect, it } from "vitest";
import { basename, dirname, duration, plural } from "./format";

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
});
