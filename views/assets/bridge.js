// The view's side of the MCP Apps bridge: JSON-RPC 2.0 over postMessage
// with the host, window.parent (SEP-1865 apps.mdx 2026-01-26,
// "Communication Protocol", "Lifecycle"). The view sends ui/initialize,
// applies the hostContext (theme, styles.variables, locale, timeZone), sends
// ui/notifications/initialized, and reports its size with
// ui/notifications/size-changed. The host then sends
// ui/notifications/tool-input and ui/notifications/tool-result; the view may
// call tools/call and ui/open-link.
const Bridge = (() => {
  const PROTOCOL_VERSION = "2026-01-26";
  let nextId = 1;
  const pending = new Map();
  const handlers = new Map();
  const contextListeners = [];
  let hostContext = {};
  let hostCapabilities = {};

  function post(msg) {
    // The view cannot know the host's origin (it runs in the host's
    // sandbox); what it sends is the user's own post and tool calls.
    window.parent.postMessage(msg, "*");
  }

  function request(method, params) {
    const id = nextId++;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      post({ jsonrpc: "2.0", id, method, params: params || {} });
    });
  }

  function notify(method, params) {
    post({ jsonrpc: "2.0", method, params: params || {} });
  }

  window.addEventListener("message", (event) => {
    if (event.source !== window.parent) return; // only the host speaks to the view
    const m = event.data;
    if (!isObj(m) || m.jsonrpc !== "2.0") return;
    if (typeof m.method === "string") {
      if (m.id !== undefined && m.id !== null) {
        answer(m);
        return;
      }
      const fn = handlers.get(m.method);
      if (fn) fn(obj(m.params));
      return;
    }
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (m.error !== undefined) p.reject(new Error(str(obj(m.error).message) || "The host refused the request."));
    else p.resolve(obj(m.result));
  });

  // Requests from the host: ping, and ui/resource-teardown before the view
  // goes away (nothing to save: the view keeps no state of its own).
  function answer(m) {
    if (m.method === "ping" || m.method === "ui/resource-teardown") {
      post({ jsonrpc: "2.0", id: m.id, result: {} });
      return;
    }
    post({ jsonrpc: "2.0", id: m.id, error: { code: -32601, message: "Method not found" } });
  }

  function applyContext(ctx) {
    if (!isObj(ctx)) return;
    hostContext = Object.assign({}, hostContext, ctx);
    const root = document.documentElement;
    if (ctx.theme === "light" || ctx.theme === "dark") root.dataset.theme = ctx.theme;
    const vars = obj(obj(ctx.styles).variables);
    for (const [k, v] of Object.entries(vars)) {
      // Only the custom properties the host names, never other styles.
      if (/^--[a-z0-9-]{1,64}$/.test(k) && typeof v === "string" && v.length <= 300) root.style.setProperty(k, v);
    }
    if (typeof ctx.locale === "string") setLocale(ctx.locale);
    if (typeof ctx.timeZone === "string") setTimeZone(ctx.timeZone);
    for (const fn of contextListeners) fn(hostContext);
  }

  let lastW = 0;
  let lastH = 0;
  function reportSize() {
    const app = document.getElementById("app");
    const rect = app.getBoundingClientRect();
    const w = Math.ceil(rect.width);
    const h = Math.ceil(rect.bottom + window.scrollY);
    if (w === lastW && h === lastH) return;
    lastW = w;
    lastH = h;
    notify("ui/notifications/size-changed", { width: w, height: h });
  }

  handlers.set("ui/notifications/host-context-changed", applyContext);

  async function start(appName) {
    const res = await request("ui/initialize", {
      appInfo: { name: appName, version: "1" },
      appCapabilities: { availableDisplayModes: ["inline"] },
      protocolVersion: PROTOCOL_VERSION,
    });
    hostCapabilities = obj(res.hostCapabilities);
    applyContext(obj(res.hostContext));
    notify("ui/notifications/initialized", {});
    new ResizeObserver(reportSize).observe(document.getElementById("app"));
    reportSize();
  }

  // follow keeps state.input, state.result and state.cancelled up to date
  // from the host's tool notifications, and renders on each.
  function follow(state, render) {
    handlers.set("ui/notifications/tool-input", (p) => {
      state.input = obj(p.arguments);
      render();
    });
    handlers.set("ui/notifications/tool-result", (p) => {
      state.result = p;
      render();
    });
    handlers.set("ui/notifications/tool-cancelled", (p) => {
      state.cancelled = str(p.reason) || "The tool call was cancelled.";
      render();
    });
  }

  return {
    start,
    follow,
    on: (method, fn) => handlers.set(method, fn),
    onContext: (fn) => contextListeners.push(fn),
    context: () => hostContext,
    // serverTools: the host proxies tools/call to this server.
    canCallTools: () => isObj(hostCapabilities.serverTools),
    canOpenLinks: () => isObj(hostCapabilities.openLinks),
    callTool: (name, args) => request("tools/call", { name, arguments: args }),
    openLink: (url) => request("ui/open-link", { url }),
    toolName: () => str(obj(obj(hostContext.toolInfo).tool).name),
  };
})();
