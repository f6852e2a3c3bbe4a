// End-to-end test of the real desktop app under X (run it inside xvfb-run): tauri-driver
// starts the app through Debian's WebKitWebDriver; the test adds a PDF through the real
// "Add files…" button and GTK file dialog (typed into with xdotool), waits for it to be
// indexed, asks a question, watches the answer stream in, clicks a citation and checks the
// quoted passage in the source panel. A screenshot of every step goes to e2e/artifacts/.
//
// Environment: CAIRN_APP (the app binary), CAIRN_E2E_PDF (the PDF to add), CAIRN_EMBEDDER and
// CAIRN_GENERATOR (the models), CAIRN_E2E_QUESTION (optional).
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync, rmSync } from "node:fs";
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
need("DISPLAY (run under xvfb-run)", process.env.DISPLAY);

const home = mkdtempSync(join(tmpdir(), "cairn-e2e-"));
process.env.CAIRN_DATA_DIR = join(home, "data");
process.env.CAIRN_SETTINGS = join(home, "settings.json");
// The model named in Settings is a download cut short (the first 64 KiB of the real GGUF):
// the app must say why it cannot load it and let the person choose the real one.
const broken = join(home, "broken-download.gguf");
writeFileSync(broken, readFileSync(model).subarray(0, 64 * 1024));
// Shorter answers keep the test quick with the small model; the app reads these at start.
writeFileSync(process.env.CAIRN_SETTINGS, JSON.stringify({ max_tokens: 160, passages: 6, generator: broken }));
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

  // 1b. The model in Settings cannot be loaded: the window says why (never "Loading…"
  // forever) and offers another file, chosen through the native dialog.
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

  // 6. Settings: switch the library to the multilingual embedder. The time is estimated on
  // its own passages, the re-embedding shows its progress, and searches switch when done.
  await wd.click(await wd.find("[data-testid=source-panel] button[aria-label='Close the source']"));
  await wd.click(await wd.find("[data-testid=nav-settings]"));
  const select = await wd.until("the embedder list", () => wd.find("select#embedder"), 20000);
  await wd.execute(
    "const s = document.querySelector('select#embedder'); const o = [...s.options].find((o) => o.text.startsWith('multilingual-e5-small')); s.value = o.value; s.dispatchEvent(new Event('change', { bubbles: true }));",
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
  await wd.until("the library to search with multilingual-e5-small", async () => {
    const t = await wd.text(await wd.find("[data-testid=embedder-settings]"));
    return t.includes("The library searches with multilingual-e5-small");
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
  log("passed");
} catch (e) {
  failed = true;
  console.error(`e2e: FAILED: ${e.stack ?? e}`);
  await shot(wd, "failure").catch(() => {});
} finally {
  await wd.end();
  driver.kill();
  rmSync(home, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
