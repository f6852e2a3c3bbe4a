// Typed calls into the app. Every type comes from the Rust side (src/lib/bindings, generated
// by ts-rs), so the two cannot drift apart without the build noticing.
import { invoke, Channel } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";
import type { AppStatus } from "./bindings/AppStatus";
import type { AppError } from "./bindings/AppError";
import type { AskEvent } from "./bindings/AskEvent";
import type { AskInput } from "./bindings/AskInput";
import type { ChatSummary } from "./bindings/ChatSummary";
import type { DocumentRecord } from "./bindings/DocumentRecord";
import type { EmbedderChoice } from "./bindings/EmbedderChoice";
import type { FusionTuning } from "./bindings/FusionTuning";
import type { ModelChoice } from "./bindings/ModelChoice";
import type { ModelEvent } from "./bindings/ModelEvent";
import type { SwitchEstimate } from "./bindings/SwitchEstimate";
import type { LibraryEvent } from "./bindings/LibraryEvent";
import type { Passage } from "./bindings/Passage";
import type { ServerCheck } from "./bindings/ServerCheck";
import type { Settings } from "./bindings/Settings";
import type { StoredMessage } from "./bindings/StoredMessage";

/** An error from a command, with the app's stable code. */
export function asAppError(e: unknown): AppError {
  if (typeof e === "object" && e !== null && "code" in e && "message" in e) {
    return e as AppError;
  }
  return { code: "internal", message: String(e) };
}

async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (e) {
    throw asAppError(e);
  }
}

export const api = {
  status: () => call<AppStatus>("status"),
  getSettings: () => call<Settings>("get_settings"),
  saveSettings: (settings: Settings) => call<Settings>("save_settings", { settings }),
  chooseModelFile: () => call<string | null>("choose_model_file"),
  loadModel: () => call<void>("load_model"),
  embedders: () => call<EmbedderChoice[]>("embedders"),
  estimateEmbedderSwitch: (folder: string) => call<SwitchEstimate>("estimate_embedder_switch", { folder }),
  switchEmbedder: (folder: string) => call<number>("switch_embedder", { folder }),
  models: () => call<ModelChoice[]>("models"),
  downloadModel: (name: string) => call<void>("download_model", { name }),
  pauseDownload: () => call<boolean>("pause_download"),
  cancelDownload: () => call<boolean>("cancel_download"),
  deleteModel: (name: string) => call<void>("delete_model", { name }),
  useModel: (path: string) => call<void>("use_model", { path }),
  listDocuments: () => call<DocumentRecord[]>("list_documents"),
  addFromDialog: (folders: boolean) => call<number | null>("add_from_dialog", { folders }),
  removeDocument: (id: number) => call<void>("remove_document", { id }),
  rereadDocument: (id: number) => call<number>("reread_document", { id }),
  revealDocument: (id: number) => call<void>("reveal_document", { id }),
  openDocument: (id: number, page: number | null) => call<void>("open_document", { id, page }),
  ask: (input: AskInput, onEvent: (e: AskEvent) => void) => {
    const channel = new Channel<AskEvent>();
    channel.onmessage = onEvent;
    return call<void>("ask", { input, onEvent: channel });
  },
  stopAnswer: (askId: string) => call<boolean>("stop_answer", { askId }),
  listChats: () => call<ChatSummary[]>("list_chats"),
  chatMessages: (chatId: number) => call<StoredMessage[]>("chat_messages", { chatId }),
  deleteChat: (chatId: number) => call<void>("delete_chat", { chatId }),
  passage: (documentId: number, start: number, end: number) =>
    call<Passage>("passage", { documentId, start, end }),
  watchedFolders: () => call<string[]>("watched_folders"),
  searchTuning: () => call<FusionTuning | null>("search_tuning"),
  formats: () => call<string>("formats"),
  watchFolder: () => call<string | null>("watch_folder"),
  unwatchFolder: (folder: string) => call<boolean>("unwatch_folder", { folder }),
  restart: () => call<void>("restart"),
  saveServerKey: (url: string, key: string) => call<void>("save_server_key", { url, key }),
  forgetServerKey: (url: string) => call<boolean>("forget_server_key", { url }),
  serverKeyStored: (url: string) => call<boolean>("server_key_stored", { url }),
  testServer: (url: string, model: string, key: string | null) =>
    call<ServerCheck>("test_server", { url, model, key }),
  onLibrary: (f: (e: LibraryEvent) => void): Promise<UnlistenFn> =>
    listen<LibraryEvent>("library", (e) => f(e.payload)),
  onStatus: (f: () => void): Promise<UnlistenFn> => listen("status", () => f()),
  onModels: (f: (e: ModelEvent) => void): Promise<UnlistenFn> =>
    listen<ModelEvent>("models", (e) => f(e.payload)),
};
