// One model download as the window shows it, from the app's `models` events.
import type { ModelEvent } from "../bindings/ModelEvent";

export type DownloadState = "idle" | "downloading" | "paused" | "installed" | "failed" | "cancelled";

export interface DownloadView {
  name: string | null;
  state: DownloadState;
  done: number;
  total: number;
  bytesPerS: number;
  etaS: number | null;
  error: string | null;
  path: string | null;
}

export const noDownload: DownloadView = { name: null, state: "idle", done: 0, total: 0, bytesPerS: 0, etaS: null, error: null, path: null };

/** The view after one event. */
export function applyModelEvent(view: DownloadView, ev: ModelEvent): DownloadView {
  switch (ev.kind) {
    case "progress":
      return { ...view, name: ev.name, state: "downloading", done: ev.done, total: ev.total, bytesPerS: ev.bytes_per_s, etaS: ev.eta_s, error: null };
    case "installed":
      return { ...view, name: ev.name, state: "installed", done: view.total, etaS: 0, path: ev.path, error: null };
    case "paused":
      return { ...view, name: ev.name, state: "paused", bytesPerS: 0, etaS: null };
    case "cancelled":
      return { ...noDownload, name: ev.name, state: "cancelled" };
    case "failed":
      return { ...view, name: ev.name, state: "failed", error: ev.error.message };
  }
}
