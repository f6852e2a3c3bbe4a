// End-to-end test of the real desktop app under X (run it inside xvfb-run): tauri-driver
// starts the app through Debian's WebKitWebDriver with no language model; the first-run page
// downloads one from a Hub-layout server on loopback (HF_ENDPOINT), paused and resumed; a
// damaged model file chosen in Settings is refused with the reason and replaced through the
// native dialog; then the test adds a PDF through the real
// "Add files…" button and GTK file dialog (typed into with xdotool), waits for it to be
// indexed, asks a question, watches the answer stream in, clicks a citation and checks the
// quoted passage in the source panel. A screenshot of every step goes to e2e/artifacts/.
//
// Last, Settings → Engine → Server points the app at llama.cpp's real OpenAI-compatible server
// (llama-cpp-python's, from setup's servers venv) on loopback with an API key: Test refuses a
// wrong key with the reason and connects with the right one, the key goes to the system
// keychain (GNOME Keyring on a private session bus), never the settings file, and a question
// is answered by the server with the key from the keychain.
//
// Environment: CAIRN_APP (the app binary), CAIRN_E2E_PDF (the PDF to add), CAIRN_EMBEDDER and
// CAIRN_GENERATOR (the models), CAIRN_MODELS (where setup put them), CAIRN_HUB_SERVER (the
// hub-test-server binary), CAIRN_SERVERS_PYTHON (the servers venv's python),
// CAIRN_E2E_QUESTION (optional).
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, mkdirSync, openSync, readFileSync, writeFileSync, rmSync, symlinkSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { basename, join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { WebDriver } from "./webdriver.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const artifacts = process.env.CAIRN_E2E_ARTIFACTS ?? join(here, "artifacts");
const app = process.env.CAIRN_APP;
const pdf = process.env.CAIRN_E2E_PDF;
const question = process.env.CAIRN_E2E_QUESTION ?? "What does the DMCA say about circumvention of copyright protection systems?";
const port = 4444 + (process.pid % 500);

function need(name, value) {
  if (!value) {
    console.error(`e2e: set ${name}`);
    process.exit(2);
  }
  return value;
}
need("CAIRN_APP", app);
need("CAIRN_E2E_PDF", pdf);
const model = need("CAIRN_GENERATOR", process.env.CAIRN_GENERATOR);
const setupModels = need("CAIRN_MODELS", process.env.CAIRN_MODELS);
const hubServer = need("CAIRN_HUB_SERVER", process.env.CAIRN_HUB_SERVER);
const serversPython = need("CAIRN_SERVERS_PYTHON", process.env.CAIRN_SERVERS_PYTHON);
need("DISPLAY (run under xvfb-run)", process.env.DISPLAY);

const home = mkdtempSync(join(tmpdir(), "cairn-e2e-"));
process.env.CAIRN_DATA_DIR = join(home, "data");
process.env.CAIRN_SETTINGS = join(home, "settings.json");
// A models folder without a language model (the embedders and ONNX Runtime from setup): the
// app starts on its first-run page.
const models = join(home, "models");
mkdirSync(models);
symlinkSync(join(setupModels, "embedders"), join(models, "embedders"));
process.env.CAIRN_ONNXRUNTIME = join(setupModels, "onnxruntime", "libonnxruntime.so");
process.env.CAIRN_MODELS = models;
delete process.env.CAIRN_GENERATOR;
// The Hub, on loopback: the test model's bytes under the name of the catalogue's Llama 3.1
// 8B Q4_K_M (the download, resume and checks are what is tested), served slowly enough to
// watch and pause.
const served = join(home, "Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf");
symlinkSync(model, served);
const hub = spawn(hubServer, [served, "bartowski/Meta-Llama-3.1-8B-Instruct-GGUF", "slow"], { stdio: ["ignore", "pipe", "inherit"] });
process.env.HF_ENDPOINT = await new Promise((resolve, reject) => {
  hub.stdout.once("data", (d) => resolve(String(d).trim()));
  hub.once("exit", (code) => reject(new Error(`hub-test-server exited ${code}`)));
});
// A model file cut short (the first 64 KiB of the real GGUF), chosen in Settings later: the
// app must say why it cannot load it and let the person choose the real one.
const broken = join(home, "broken-download.gguf");
writeFileSync(broken, readFileSync(model).subarray(0, 64 * 1024));
// The served model's key, typed in Settings and kept in the system keychain: GNOME Keyring's
// Secret Service on a session bus of the test's own (Debian's dbus-daemon and gnome-keyring,
// from setup), unlocked, in the test's home. The app finds the bus through the environment.
const serverKey = `e2e-${Math.random().toString(36).slice(2)}-key`;
delete process.env.CAIRN_API_KEY;
const runtimeDir = join(home, "run");
mkdirSync(runtimeDir);
const bus = spawn("dbus-daemon", ["--session", "--nofork", "--print-address=1"], { stdio: ["ignore", "pipe", "ignore"] });
process.env.DBUS_SESSION_BUS_ADDRESS = await new Promise((resolve, reject) => {
  bus.stdout.once("data", (d) => resolve(String(d).trim()));
  bus.once("exit", (code) => reject(new Error(`dbus-daemon exited ${code}`)));
});
process.env.XDG_RUNTIME_DIR = runtimeDir;
const keyring = spawn("gnome-keyring-daemon", ["--foreground", "--unlock", "--components=secrets"], {
  stdio: ["pipe", "ignore", "ignore"],
  env: { ...process.env, HOME: home },
});
keyring.stdin.end("e2e-keyring-password");
for (let i = 0; ; i++) {
  const names = execFileSync("dbus-send", ["--session", "--print-reply", "--dest=org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus.ListNames"], { encoding: "utf8" });
  if (names.includes("org.freedesktop.secrets")) break;
  if (i > 300) throw new Error("GNOME Keyring's Secret Service did not come up");
  await new Promise((r) => setTimeout(r, 100));
}
let llamaServer = null;
// Shorter answers keep the test quick with the small model; the app reads these at start.
writeFileSync(process.env.CAIRN_SETTINGS, JSON.stringify({ max_tokens: 160, passages: 6 }));
mkdirSync(artifacts, { recursive: true });

let step = 0;
const log = (m) => console.log(`e2e: ${m}`);
async function shot(wd, name) {
  step++;
  const file = join(artifacts, `${String(step).padStart(2, "0")}-${name}.png`);
  writeFileSync(file, await wd.screenshot());
  log(`screenshot ${file}`);
}

function xdotool(...args) {
  return execFileSync("xdotool", args, { encoding: "utf8", timeout: 30000 }).trim();
}

const driver = spawn("tauri-driver", ["--port", String(port)], { stdio: ["ignore", "inherit", "inherit"] });
const wd = new WebDriver(`http://127.0.0.1:${port}`);
let failed = false;
try {
  await wd.until("tauri-driver", async () => (await fetch(`http://127.0.0.1:${port}/status`)).ok, 20000);
  await wd.start({ browserName: "wry", "tauri:options": { application: app } });
  log("app started");

  // 1. The app opens its (empty) library.
  const statusText = async () => wd.text(await wd.find("[data-testid=status]"));
  await wd.until("the library to open", async () => !(await statusText()).includes("Opening"), 60000);
  await wd.until("the empty library", () => wd.find("[data-testid=library-empty]"), 10000);

  // 1a. No language model: the first-run page offers the catalogue's models with what fits
  // this computer; the download shows its progress, pauses, resumes and installs.
  await wd.click(await wd.find("[data-testid=new-chat]"));
  await wd.until("the first-run page", () => wd.find("[data-testid=first-run] [data-testid=model-choice]"), 30000);
  const llama = '[data-testid=model-choice][data-name="llama-3.1-8b-instruct-q4_k_m"]';
  const fit = await wd.text(await wd.find(`${llama} [data-testid=fit]`));
  log(`first run: Llama 3.1 8B Q4_K_M ${fit}`);
  await wd.click(await wd.find(`${llama} [data-testid=download-model]`));
  await wd.until("download progress", async () => {
    const shown = await wd.findAll(`${llama} [data-testid=download-progress] progress`);
    return shown.length > 0 && Number(await wd.attribute(shown[0], "value")) > 4e6;
  }, 60000, 100);
  await shot(wd, "first-run-download");
  await wd.click(await wd.find(`${llama} [data-testid=pause-download]`));
  const paused = await wd.until("the pause", async () => {
    const p = await wd.findAll(`${llama} [data-testid=download-paused]`);
    return p.length > 0 ? wd.text(p[0]) : null;
  }, 30000);
  log(`download ${paused}`);
  await wd.click(await wd.find(`${llama} [data-testid=resume-download]`));
  await wd.until("the download to finish and the model to load", async () => (await statusText()).includes("Ready"), 180000, 200);
  log("downloaded, verified, installed and loaded");
  await shot(wd, "first-run-done");
  await wd.click(await wd.find("[data-testid=nav-library]"));

  // 1b. A damaged model file chosen in Settings cannot be loaded: the window says why (never
  // "Loading…" forever) and offers another file, chosen through the native dialog.
  await wd.click(await wd.find("[data-testid=nav-settings]"));
  const generatorField = await wd.until("the model field", () => wd.find("input#generator"), 20000);
  await wd.execute(
    "const i = document.querySelector('input#generator'); i.value = arguments[0]; i.dispatchEvent(new Event('input', { bubbles: true }));",
    [broken],
  );
  await wd.click(await wd.find("form button[type=submit]"));
  void generatorField;
  const reason = await wd.until("the model's load failure", async () => {
    const found = await wd.findAll("[data-testid=model-error-reason]");
    return found.length > 0 ? wd.text(found[0]) : null;
  }, 60000);
  log(`model failure shown: ${reason}`);
  if (!reason.includes("broken-download.gguf")) throw new Error(`the reason does not name the file: ${reason}`);
  if ((await statusText()).includes("Loading")) throw new Error("the status still says the model is loading");
  await shot(wd, "model-failed");
  await wd.click(await wd.find("[data-testid=choose-another-model]"));
  const chooser = xdotool("search", "--sync", "--onlyvisible", "--name", "Choose a GGUF chat model").split("\n")[0];
  xdotool("windowfocus", "--sync", chooser);
  xdotool("key", "--clearmodifiers", "ctrl+l");
  xdotool("type", "--delay", "25", model);
  await new Promise((r) => setTimeout(r, 500));
  xdotool("key", "Return");
  log(`chose ${model}`);
  await wd.until("the chosen model to load", async () => (await statusText()).includes("Ready"), 120000);
  if ((await wd.findAll("[data-testid=model-error]")).length > 0) throw new Error("the load failure is still shown");
  // Settings shows the model now in force, not the broken one typed before.
  await wd.until("Settings to show the chosen model", async () =>
    (await wd.execute("return document.querySelector('input#generator').value")) === model, 10000);
  await wd.click(await wd.find("[data-testid=nav-library]"));
  await shot(wd, "empty-library");

  // 2. Add a PDF through the real button and the native file dialog.
  await wd.click(await wd.find("[data-testid=add-files]"));
  const dialog = xdotool("search", "--sync", "--onlyvisible", "--name", "Add documents to Cairn").split("\n")[0];
  log(`file dialog window ${dialog}`);
  xdotool("windowfocus", "--sync", dialog);
  xdotool("key", "--clearmodifiers", "ctrl+l");
  xdotool("type", "--delay", "25", pdf);
  await new Promise((r) => setTimeout(r, 500));
  xdotool("key", "Return");
  log(`chose ${pdf}`);

  // 3. It is indexed; the row shows its pages and passages.
  const name = basename(pdf);
  const row = `[data-testid=document-row][data-name="${name}"]`;
  let sawProgress = false;
  await wd.until(`${name} to be indexed`, async () => {
    if (!sawProgress) sawProgress = (await wd.findAll("[data-testid=overall-progress]")).length > 0;
    const state = await wd.attribute(await wd.find(row), "data-state");
    if (state === "failed") throw new Error(`${name} failed: ${await wd.text(await wd.find(row))}`);
    return state === "indexed";
  }, 240000, 200);
  const rowText = await wd.text(await wd.find(row));
  log(`indexed: ${rowText.replace(/\s+/g, " ")} (progress shown: ${sawProgress})`);
  if (!sawProgress) throw new Error("no progress was shown while the PDF was indexed");
  await shot(wd, "library");

  // 4. Ask; the answer streams in.
  await wd.click(await wd.find("[data-testid=new-chat]"));
  const box = await wd.find("[data-testid=question]");
  await wd.type(box, question);
  await shot(wd, "question");
  await wd.click(await wd.find("[data-testid=ask]"));
  const lengths = new Set();
  let streamedShot = false;
  const status = await wd.until("the answer to finish", async () => {
    const turn = await wd.find("[data-testid=turn]:last-of-type");
    const s = await wd.attribute(turn, "data-status");
    if (s === "answering") {
      const text = await wd.text(await wd.find("[data-testid=turn]:last-of-type [data-testid=answer]"));
      if (text.trim().length > 0) lengths.add(text.length);
      if (!streamedShot && lengths.size >= 2) {
        streamedShot = true;
        await shot(wd, "streaming");
      }
    }
    return ["done", "refused", "error", "cancelled"].includes(s) ? s : null;
  }, 600000, 100);
  const answer = await wd.text(await wd.find("[data-testid=turn]:last-of-type [data-testid=answer]"));
  log(`answer (${status}), seen streaming at ${lengths.size} lengths: ${answer.slice(0, 300)}`);
  await shot(wd, "answer");
  if (status !== "done") throw new Error(`the answer ended ${status}: ${answer}`);
  if (lengths.size < 2) throw new Error("the answer did not stream (seen at fewer than 2 lengths)");

  // 5. Click a citation: the source panel shows the quoted passage, highlighted, with its page.
  const chips = await wd.findAll("[data-testid=turn]:last-of-type [data-testid=citation]:not([disabled])");
  const links = await wd.findAll("[data-testid=turn]:last-of-type [data-testid=source-link]");
  if (chips.length === 0 && links.length === 0) throw new Error("the answer has no citation");
  log(`${chips.length} citation chips, ${links.length} cited sources`);
  await wd.click(chips[0] ?? links[0]);
  const quote = await wd.until("the quoted passage", async () => {
    const q = await wd.text(await wd.find("[data-testid=source-panel] [data-testid=quote]"));
    return q.trim().length > 0 ? q : null;
  }, 30000);
  const page = await wd.text(await wd.find("[data-testid=source-panel] [data-testid=source-page]"));
  const highlighted = await wd.execute(
    "const m = document.querySelector('[data-testid=source-panel] mark'); return m ? getComputedStyle(m).backgroundColor : null;",
  );
  log(`source panel: ${page}, quote “${quote.slice(0, 160)}”, highlight ${highlighted}`);
  if (!/^page \d+$/.test(page)) throw new Error(`no page number in the source panel: ${page}`);
  await shot(wd, "source");

  // 6. Settings: switch the library from the default embedder (multilingual-e5-small, which
  // the app starts with) to the other one Cairn ships, English all-MiniLM-L6-v2. The time is
  // estimated on its own passages, the re-embedding shows its progress, and searches switch
  // when done.
  await wd.click(await wd.find("[data-testid=source-panel] button[aria-label='Close the source']"));
  await wd.click(await wd.find("[data-testid=nav-settings]"));
  const select = await wd.until("the embedder list", () => wd.find("select#embedder"), 20000);
  await wd.execute(
    "const s = document.querySelector('select#embedder'); const o = [...s.options].find((o) => o.text.startsWith('all-MiniLM-L6-v2')); s.value = o.value; s.dispatchEvent(new Event('change', { bubbles: true }));",
  );
  const estimate = await wd.until("the switch estimate", async () => {
    const t = await wd.text(await wd.find("[data-testid=embedder-estimate]"));
    return t.includes("which takes") ? t : null;
  }, 60000);
  log(`estimate: ${estimate}`);
  await shot(wd, "embedder-estimate");
  await wd.click(await wd.find("[data-testid=switch-embedder]"));
  // Settings says which embedder the library searches with once the window hears the switch
  // ended.
  await wd.until("the library to search with all-MiniLM-L6-v2", async () => {
    const t = await wd.text(await wd.find("[data-testid=embedder-settings]"));
    return t.includes("The library searches with all-MiniLM-L6-v2");
  }, 180000, 200);
  log("switched embedders");
  await shot(wd, "switched");
  // A question still finds its passage, now through the new embedder's vectors.
  await wd.click(await wd.find("[data-testid=new-chat]"));
  await wd.type(await wd.find("[data-testid=question]"), question);
  await wd.click(await wd.find("[data-testid=ask]"));
  const after = await wd.until("the answer after the switch", async () => {
    const s = await wd.attribute(await wd.find("[data-testid=turn]:last-of-type"), "data-status");
    return ["done", "refused", "error", "cancelled"].includes(s) ? s : null;
  }, 600000, 200);
  if (after !== "done") throw new Error(`the answer after the switch ended ${after}`);

  // 7. Settings → Engine → Server: llama.cpp's real server on loopback, with an API key.
  const serverPort = await new Promise((resolve) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const p = probe.address().port;
      probe.close(() => resolve(p));
    });
  });
  const serverLog = join(home, "llama-server.log");
  const logFd = openSync(serverLog, "w");
  llamaServer = spawn(serversPython, [
    "-m", "llama_cpp.server", "--model", model, "--model_alias", "smollm2", "--host", "127.0.0.1",
    "--port", String(serverPort), "--api_key", serverKey, "--n_ctx", "4096", "--n_threads", "2",
  ], { stdio: ["ignore", logFd, logFd] });
  const serverUrl = `http://127.0.0.1:${serverPort}/v1`;
  await wd.until("llama.cpp's server", async () => {
    try {
      return (await fetch(`${serverUrl}/models`, { headers: { Authorization: `Bearer ${serverKey}` } })).ok;
    } catch {
      return false;
    }
  }, 180000, 250);
  log(`llama.cpp's server answers at ${serverUrl}`);
  await wd.click(await wd.find("[data-testid=nav-settings]"));
  await wd.click(await wd.until("the engine choice", () => wd.find("[data-testid=engine-server]"), 20000));
  const typeInto = (selector, value) =>
    wd.execute(
      "const i = document.querySelector(arguments[0]); i.value = arguments[1]; i.dispatchEvent(new Event('input', { bubbles: true })); i.dispatchEvent(new Event('change', { bubbles: true }));",
      [selector, value],
    );
  await wd.until("the server fields", () => wd.find("input#server-url"), 10000);
  await typeInto("input#server-url", serverUrl);
  await typeInto("input#server-model", "smollm2");
  await typeInto("input#server-context", "4096");
  const testResult = async () => {
    await wd.click(await wd.find("[data-testid=test-server]"));
    return wd.until("the server test", async () => {
      const t = await wd.text(await wd.find("[data-testid=server-test-result]"));
      return t.trim().length > 0 && !(await wd.text(await wd.find("[data-testid=test-server]"))).includes("Testing") ? t : null;
    }, 120000, 200);
  };
  await typeInto("input#server-key", "a-wrong-key");
  const refused = await testResult();
  log(`Test with a wrong key: ${refused}`);
  if (!refused.includes("refused the API key (401)")) throw new Error(`a wrong key was not refused clearly: ${refused}`);
  if (refused.includes("a-wrong-key")) throw new Error("the key was shown in a message");
  await typeInto("input#server-key", serverKey);
  const connected = await testResult();
  log(`Test with the right key: ${connected}`);
  if (!connected.startsWith("Connected: smollm2 answered in")) throw new Error(`the server test failed: ${connected}`);
  await shot(wd, "engine-server-test");
  await wd.click(await wd.find("form button[type=submit]"));
  // The key goes to the system keychain, and only there.
  await wd.until("the key to be stored in the keychain", async () => {
    for (const a of await wd.findAll("form [role=alert]")) throw new Error(`the key was not stored: ${await wd.text(a)}`);
    const placeholder = await wd.execute("return document.querySelector('input#server-key').placeholder");
    return placeholder.startsWith("stored in the system keychain");
  }, 30000, 200);
  log("key stored in the system keychain (GNOME Keyring)");
  const settingsFile = readFileSync(process.env.CAIRN_SETTINGS, "utf8");
  if (settingsFile.includes(serverKey)) throw new Error("the API key was written to the settings file");
  if (JSON.parse(settingsFile).answer_with !== "server") throw new Error(`the engine was not saved: ${settingsFile}`);
  await wd.until("the status to name the server", async () => (await statusText()).includes(`answers from smollm2 at ${serverUrl}`), 20000);
  await wd.click(await wd.find("[data-testid=new-chat]"));
  await wd.type(await wd.find("[data-testid=question]"), question);
  await wd.click(await wd.find("[data-testid=ask]"));
  const served = await wd.until("the server's answer", async () => {
    const s = await wd.attribute(await wd.find("[data-testid=turn]:last-of-type"), "data-status");
    return ["done", "refused", "error", "cancelled"].includes(s) ? s : null;
  }, 600000, 200);
  const servedAnswer = await wd.text(await wd.find("[data-testid=turn]:last-of-type [data-testid=answer]"));
  log(`served answer (${served}): ${servedAnswer.slice(0, 300)}`);
  await shot(wd, "served-answer");
  if (served !== "done") throw new Error(`the server's answer ended ${served}: ${servedAnswer}`);
  if (servedAnswer.trim().length === 0) throw new Error("the server's answer is empty");
  // Whether the 135M test model cites depends on the server's own sampler; the citations of
  // served answers are verified in crates/cli/tests/remote.rs and serve.rs.
  const servedCitations = await wd.findAll("[data-testid=turn]:last-of-type [data-testid=citation]");
  log(`${servedCitations.length} citation chips in the served answer`);
  const asked = (readFileSync(serverLog, "utf8").match(/POST \/v1\/chat\/completions/g) ?? []).length;
  log(`llama.cpp's server saw ${asked} chat-completions requests`);
  if (asked < 3) throw new Error("the answer did not come from the server (expected 2 tests and the answer)");
  log("passed");
} catch (e) {
  failed = true;
  console.error(`e2e: FAILED: ${e.stack ?? e}`);
  await shot(wd, "failure").catch(() => {});
} finally {
  await wd.end();
  driver.kill();
  hub.kill();
  llamaServer?.kill();
  keyring.kill();
  bus.kill();
  rmSync(home, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
