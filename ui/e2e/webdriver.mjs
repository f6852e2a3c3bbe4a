// A small W3C WebDriver client (the protocol is plain HTTP + JSON), enough to drive the app
// through tauri-driver: sessions, elements, clicks, typing, text, scripts and screenshots.

const ELEMENT = "element-6066-11e4-a52e-4f735466cecf";

export class WebDriver {
  constructor(base) {
    this.base = base;
    this.session = null;
  }

  async request(method, path, body) {
    const res = await fetch(`${this.base}${path}`, {
      method,
      headers: { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = await res.json().catch(() => ({}));
    if (!res.ok || (json.value && json.value.error)) {
      const v = json.value ?? {};
      const err = new Error(`${method} ${path}: ${v.error ?? res.status}: ${v.message ?? ""}`);
      err.code = v.error;
      throw err;
    }
    return json.value;
  }

  async start(capabilities) {
    const value = await this.request("POST", "/session", { capabilities: { alwaysMatch: capabilities } });
    this.session = value.sessionId;
    return value;
  }

  s(path) {
    return `/session/${this.session}${path}`;
  }

  async end() {
    if (this.session) await this.request("DELETE", this.s("")).catch(() => {});
    this.session = null;
  }

  async find(css) {
    const v = await this.request("POST", this.s("/element"), { using: "css selector", value: css });
    return v[ELEMENT];
  }

  async findAll(css) {
    const v = await this.request("POST", this.s("/elements"), { using: "css selector", value: css });
    return v.map((e) => e[ELEMENT]);
  }

  async click(id) {
    await this.request("POST", this.s(`/element/${id}/click`), {});
  }

  async type(id, text) {
    await this.request("POST", this.s(`/element/${id}/value`), { text });
  }

  async text(id) {
    return this.request("GET", this.s(`/element/${id}/text`));
  }

  async attribute(id, name) {
    return this.request("GET", this.s(`/element/${id}/attribute/${name}`));
  }

  async execute(script, args = []) {
    return this.request("POST", this.s("/execute/sync"), { script, args });
  }

  async screenshot() {
    return Buffer.from(await this.request("GET", this.s("/screenshot")), "base64");
  }

  /** Polls `f` until it returns a truthy value (errors count as not yet). */
  async until(what, f, timeoutMs, everyMs = 250) {
    const deadline = Date.now() + timeoutMs;
    let last;
    while (Date.now() < deadline) {
      try {
        const v = await f();
        if (v) return v;
      } catch (e) {
        last = e;
      }
      await new Promise((r) => setTimeout(r, everyMs));
    }
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${last.message})` : ""}`);
  }
}
