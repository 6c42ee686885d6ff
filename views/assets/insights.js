// Insights charts (issue 16), drawn as inline SVG from get_insights'
// structured result {scope, id, media_product_type, rows: [{metric, period,
// value, end_time, breakdown}]}. "Recent posts" asks the host for
// list_media and one get_insights per post (tools/call), to chart views,
// reach and interactions per post over time.

const RECENT_POSTS = 30;
const POST_METRICS = ["views", "reach", "total_interactions"];
const REEL_METRICS = POST_METRICS.concat(["ig_reels_avg_watch_time", "reels_skip_rate"]);
const PARALLEL_CALLS = 3;

const METRIC_LABEL = {
  views: "Views", reach: "Reach", total_interactions: "Interactions", likes: "Likes", comments: "Comments",
  saved: "Saves", saves: "Saves", shares: "Shares", reposts: "Reposts", follows: "Follows",
  profile_visits: "Profile visits", profile_activity: "Profile activity", replies: "Replies",
  link_clicks: "Link clicks", navigation: "Navigation", accounts_engaged: "Accounts engaged",
  ig_reels_avg_watch_time: "Average watch time", ig_reels_video_view_total_time: "Total watch time",
  reels_skip_rate: "Skip rate", follows_and_unfollows: "Follows and unfollows",
  profile_links_taps: "Profile link taps", follower_demographics: "Followers", engaged_audience_demographics: "Engaged audience",
};
const label = (m) => METRIC_LABEL[m] || String(m).replace(/_/g, " ");
// Metrics that are not counts: drawn apart from the count bars.
const NOT_COUNTS = new Set(["ig_reels_avg_watch_time", "ig_reels_video_view_total_time", "reels_skip_rate"]);

function fmtMetric(metric, v) {
  if (metric === "ig_reels_avg_watch_time") return fmtNum(v / 1000, 1, true) + " s";
  if (metric === "ig_reels_video_view_total_time") return fmtNum(v / 3600000, 1, true) + " h";
  if (metric === "reels_skip_rate") return fmtNum(v, 1, true) + " %";
  return fmtNum(v, Number.isInteger(v) ? 0 : 2);
}

const state = {
  input: null,
  result: null,
  cancelled: "",
  posts: null, // [{id, time, type, values, error}] once asked for
  loading: false,
  total: 0,
  postsError: "",
};

Bridge.follow(state, render);
Bridge.onContext(() => render());
Bridge.start("igmcp insights").catch((e) => {
  document.getElementById("app").replaceChildren(h("p", { class: "muted" }, "The insights view could not start: " + e.message));
});

// --- charts -------------------------------------------------------------------

function niceMax(v) {
  if (!(v > 0)) return 1;
  const step = Math.pow(10, Math.floor(Math.log10(v)));
  for (const k of [1, 2, 2.5, 5, 10]) if (k * step >= v) return k * step;
  return 10 * step;
}

// lineChart draws series of {x: Date, y, label, hl, reel} points on a time
// axis; the same numbers are in a table below it.
function lineChart(id, title, series, yFmt) {
  const W = 640, H = 250, L = 56, R = 14, T = 10, B = 30;
  const all = series.flatMap((s) => s.points);
  if (!all.length) return null;
  const xs = all.map((p) => +p.x);
  let x0 = Math.min(...xs);
  let x1 = Math.max(...xs);
  if (x0 === x1) {
    x0 -= 43200000;
    x1 += 43200000;
  }
  const yMax = niceMax(Math.max(...all.map((p) => p.y)));
  const X = (v) => L + ((v - x0) / (x1 - x0)) * (W - L - R);
  const Y = (v) => T + (1 - v / yMax) * (H - T - B);
  const g = svg("svg", { viewBox: "0 0 " + W + " " + H, class: "chart", id, role: "img", "aria-labelledby": id + "-title" },
    svg("title", { id: id + "-title" }, title));
  for (let i = 0; i <= 4; i++) {
    const v = (yMax * i) / 4;
    g.append(svg("line", { class: "grid", x1: L, x2: W - R, y1: Y(v), y2: Y(v) }),
      svg("text", { class: "tick", x: L - 6, y: Y(v) + 4, "text-anchor": "end" }, yFmt(v)));
  }
  for (let i = 0; i <= 4; i++) {
    const v = x0 + ((x1 - x0) * i) / 4;
    g.append(svg("text", { class: "tick", x: X(v), y: H - 10, "text-anchor": i === 0 ? "start" : i === 4 ? "end" : "middle" }, fmtDate(new Date(v))));
  }
  g.append(svg("line", { class: "axis", x1: L, x2: W - R, y1: Y(0), y2: Y(0) }));
  series.forEach((s, si) => {
    const pts = s.points.slice().sort((a, b) => a.x - b.x);
    g.append(svg("polyline", { class: "line s" + si, points: pts.map((p) => X(+p.x).toFixed(1) + "," + Y(p.y).toFixed(1)).join(" ") }));
    for (const p of pts) {
      g.append(svg("circle", {
        class: "pt s" + si + (p.reel ? " reel" : "") + (p.hl ? " hl" : ""),
        cx: X(+p.x).toFixed(1), cy: Y(p.y).toFixed(1), r: p.hl ? 5.5 : 3.5,
      }, svg("title", {}, s.name + ": " + yFmt(p.y) + " · " + p.label)));
    }
  });
  const legend = h("p", { class: "legend" }, series.map((s, si) => h("span", { class: "key" }, h("span", { class: "swatch s" + si }), s.name)),
    all.some((p) => p.reel) && !all.every((p) => p.reel) ? h("span", { class: "muted" }, "hollow points: Reels") : null);
  return h("figure", { class: "box chart-box", "data-chart": id, "data-points": all.length },
    h("h2", {}, title), g, legend);
}

// barChart draws horizontal bars, one per {label, value}.
function barChart(id, title, bars, fmt) {
  if (!bars.length) return null;
  const W = 640, row = 24, L = 170, R = 70;
  const H = bars.length * row + 6;
  const max = niceMax(Math.max(...bars.map((b) => b.value)));
  const g = svg("svg", { viewBox: "0 0 " + W + " " + H, class: "chart", id, role: "img", "aria-labelledby": id + "-title" },
    svg("title", { id: id + "-title" }, title));
  bars.forEach((b, i) => {
    const y = 3 + i * row;
    const w = Math.max(1, (b.value / max) * (W - L - R));
    g.append(svg("text", { class: "tick", x: L - 8, y: y + 15, "text-anchor": "end" }, b.label),
      svg("rect", { class: "bar", x: L, y: y + 3, width: w.toFixed(1), height: row - 8, rx: 3 }, svg("title", {}, b.label + ": " + fmt(b.value))),
      svg("text", { class: "value", x: L + w + 6, y: y + 15 }, fmt(b.value)));
  });
  return h("figure", { class: "box chart-box", "data-chart": id, "data-bars": bars.length }, h("h2", {}, title), g);
}

// --- the result ---------------------------------------------------------------

function model() {
  const res = state.result;
  const sc = obj(res && res.structuredContent);
  const rows = arr(sc.rows).filter(isObj);
  const totals = [];
  const series = {};
  const breakdowns = {};
  const objects = [];
  for (const r of rows) {
    const metric = str(r.metric);
    if (isObj(r.value)) {
      objects.push(r);
    } else if (num(r.value) === null) {
      continue;
    } else if (isObj(r.breakdown) && Object.keys(r.breakdown).length) {
      (breakdowns[metric] = breakdowns[metric] || []).push(r);
    } else if (str(r.end_time) && parseTime(r.end_time)) {
      (series[metric] = series[metric] || []).push(r);
    } else {
      totals.push(r);
    }
  }
  return { res, sc, rows, totals, series, breakdowns, objects, scope: str(sc.scope), id: str(sc.id), type: str(sc.media_product_type) };
}

function topbar(m) {
  return h("header", { class: "topbar" },
    h("h1", {}, "Insights"),
    m.scope ? h("span", { class: "pill", id: "scope" }, m.scope === "media" ? "Media " + m.id + (m.type ? " · " + m.type : "") : "Account " + m.id) : null,
    m.sc.sandbox === true ? h("span", { class: "pill warn" }, "sandbox") : null,
    m.res && !m.res.isError ? h("span", { class: "muted" }, fmtNum(m.rows.length) + " rows") : null);
}

function totalsPart(m) {
  if (!m.totals.length) return null;
  const tiles = h("div", { class: "tiles", id: "totals" }, m.totals.map((r) =>
    h("div", { class: "tile", "data-metric": r.metric }, h("span", { class: "tile-v" }, fmtMetric(r.metric, r.value)), h("span", { class: "tile-l" }, label(r.metric)))));
  const counts = m.totals.filter((r) => !NOT_COUNTS.has(r.metric));
  return [h("section", { class: "box" }, h("h2", {}, m.scope === "media" ? "This post" : "Totals"), tiles),
    counts.length > 1 ? barChart("chart-totals", "Metrics", counts.map((r) => ({ label: label(r.metric), value: r.value })), (v) => fmtNum(v)) : null];
}

// retention: what Instagram reports of a Reel's retention (its API gives no
// per-second curve): the average watch time and the skip rate.
function retention(m) {
  const watch = m.totals.find((r) => r.metric === "ig_reels_avg_watch_time");
  const skip = m.totals.find((r) => r.metric === "reels_skip_rate");
  if (!watch && !skip) return null;
  const parts = [h("h2", {}, "Retention")];
  if (watch) parts.push(h("p", {}, h("b", {}, fmtMetric(watch.metric, watch.value)), " average watch time"));
  if (skip) {
    const s = Math.min(100, Math.max(0, skip.value));
    const W = 640, Hh = 26;
    const g = svg("svg", { viewBox: "0 0 " + W + " " + Hh, class: "chart", id: "chart-retention", role: "img", "aria-labelledby": "chart-retention-title" },
      svg("title", { id: "chart-retention-title" }, "Skip rate " + fmtNum(s, 1) + " %, kept " + fmtNum(100 - s, 1) + " %"),
      svg("rect", { class: "bar kept", x: 0, y: 2, width: W, height: Hh - 4, rx: 4 }),
      svg("rect", { class: "bar skipped", x: 0, y: 2, width: ((s / 100) * W).toFixed(1), height: Hh - 4, rx: 4 }));
    parts.push(g, h("p", { class: "legend" },
      h("span", { class: "key" }, h("span", { class: "swatch skipped" }), "skipped " + fmtNum(s, 1) + " %"),
      h("span", { class: "key" }, h("span", { class: "swatch kept" }), "kept watching " + fmtNum(100 - s, 1) + " %")));
  }
  parts.push(h("p", { class: "muted" }, "Instagram's API reports no second-by-second retention curve; these are the figures it gives for a Reel."));
  return h("section", { class: "box", id: "retention", "data-chart": "retention" }, parts);
}

function seriesPart(m) {
  return Object.entries(m.series).map(([metric, rows]) =>
    lineChart("chart-series-" + metric, label(metric) + " per " + (str(rows[0].period) || "period"),
      [{ name: label(metric), points: rows.map((r) => ({ x: parseTime(r.end_time), y: r.value, label: fmtDate(parseTime(r.end_time), true) })) }],
      (v) => fmtMetric(metric, v)));
}

function breakdownPart(m) {
  return Object.entries(m.breakdowns).map(([metric, rows]) =>
    barChart("chart-breakdown-" + metric, label(metric) + " by " + Object.keys(rows[0].breakdown).join(", "),
      rows.map((r) => ({ label: Object.values(r.breakdown).map(String).join(" · ").slice(0, 28) || "–", value: r.value })),
      (v) => fmtMetric(metric, v)));
}

function objectPart(m) {
  return m.objects.map((r, i) =>
    barChart("chart-object-" + i, label(r.metric), Object.entries(r.value).filter(([, v]) => num(v) !== null).slice(0, 20).map(([k, v]) => ({ label: k.slice(0, 28), value: v })), (v) => fmtNum(v)));
}

// --- recent posts ---------------------------------------------------------------

async function loadPosts() {
  if (state.loading) return;
  state.loading = true;
  state.posts = [];
  state.total = 0;
  state.postsError = "";
  render();
  const account = str(obj(state.input).account);
  const withAccount = (a) => (account ? Object.assign(a, { account }) : a);
  try {
    const list = await Bridge.callTool("list_media", withAccount({ limit: RECENT_POSTS }));
    if (list.isError) throw new Error(errorText(list));
    const media = arr(obj(list.structuredContent).media)
      .filter((x) => isObj(x) && typeof x.id === "string" && x.media_product_type !== "STORY")
      .slice(0, RECENT_POSTS);
    state.total = media.length;
    render();
    let next = 0;
    const worker = async () => {
      while (next < media.length) {
        const x = media[next++];
        const reel = x.media_product_type === "REELS";
        let res;
        try {
          res = await Bridge.callTool("get_insights", withAccount({ media_id: x.id, metrics: reel ? REEL_METRICS : POST_METRICS }));
        } catch (e) {
          res = { isError: true, content: [{ type: "text", text: e.message }] };
        }
        const values = {};
        if (!res.isError) {
          for (const r of arr(obj(res.structuredContent).rows)) {
            if (isObj(r) && num(r.value) !== null && !r.end_time && !isObj(r.breakdown)) values[str(r.metric)] = r.value;
          }
        }
        state.posts.push({ id: x.id, time: parseTime(x.timestamp), reel, caption: str(x.caption), values, error: res.isError ? errorText(res) : "" });
        render();
      }
    };
    await Promise.all(Array.from({ length: PARALLEL_CALLS }, worker));
  } catch (e) {
    state.postsError = e.message;
  }
  state.loading = false;
  render();
}

function postPoints(m, metric) {
  return state.posts
    .filter((p) => p.time && num(p.values[metric]) !== null)
    .map((p) => ({
      x: p.time, y: p.values[metric], reel: p.reel,
      hl: m.scope === "media" && p.id === m.id,
      label: fmtDate(p.time, true) + (p.caption ? " · " + Array.from(p.caption).slice(0, 40).join("") : ""),
    }));
}

function postsPart(m) {
  const box = h("section", { class: "box", id: "posts", "aria-label": "Recent posts" }, h("h2", {}, "Recent posts over time"));
  const can = Bridge.canCallTools();
  const done = state.posts !== null && !state.loading;
  box.append(h("p", {},
    h("button", { id: "load-posts", "data-key": "load-posts", disabled: !can || state.loading, onclick: loadPosts },
      done ? "Reload the last " + RECENT_POSTS + " posts" : "Chart the last " + RECENT_POSTS + " posts"), " ",
    h("span", { class: "muted", id: "posts-note", role: "status" }, !can
      ? "This host does not let views call tools."
      : state.loading
        ? "Loading " + state.posts.length + " of " + (state.total || "…") + "…"
        : "Calls list_media once and get_insights once per post, through your host.")));
  if (state.postsError) box.append(h("ul", { class: "problems" }, h("li", {}, state.postsError)));
  if (!state.posts || !state.posts.length) return box;
  const failed = state.posts.filter((p) => p.error);
  if (failed.length) box.append(h("p", { class: "muted" }, failed.length + " posts without insights (" + failed[0].error + ")"));
  const reels = state.posts.some((p) => p.reel);
  box.append(
    lineChart("chart-posts-reach", "Views and reach per post",
      [{ name: "Views", points: postPoints(m, "views") }, { name: "Reach", points: postPoints(m, "reach") }], (v) => fmtNum(v)),
    lineChart("chart-posts-interactions", "Interactions per post",
      [{ name: "Interactions", points: postPoints(m, "total_interactions") }], (v) => fmtNum(v)),
    reels ? lineChart("chart-posts-watch", "Reels: average watch time",
      [{ name: "Average watch time", points: postPoints(m, "ig_reels_avg_watch_time") }], (v) => fmtMetric("ig_reels_avg_watch_time", v)) : null,
    reels ? lineChart("chart-posts-skip", "Reels: skip rate",
      [{ name: "Skip rate", points: postPoints(m, "reels_skip_rate") }], (v) => fmtMetric("reels_skip_rate", v)) : null,
    postsTable());
  return box;
}

function postsTable() {
  const cols = ["views", "reach", "total_interactions", "ig_reels_avg_watch_time", "reels_skip_rate"];
  const sorted = state.posts.filter((p) => p.time).sort((a, b) => a.time - b.time);
  return h("details", {}, h("summary", { "data-key": "table" }, "Table (" + sorted.length + " posts)"),
    h("table", { id: "posts-table" },
      h("thead", {}, h("tr", {}, h("th", {}, "Published"), h("th", {}, "Type"), cols.map((c) => h("th", { class: "num" }, label(c))))),
      h("tbody", {}, sorted.map((p) => h("tr", { "data-media": p.id },
        h("td", {}, fmtDate(p.time, true)), h("td", {}, p.reel ? "Reel" : "Post"),
        cols.map((c) => h("td", { class: "num" }, num(p.values[c]) === null ? "–" : fmtMetric(c, p.values[c]))))))));
}

// --- rendering --------------------------------------------------------------------

function render() {
  const app = document.getElementById("app");
  if (!state.input && !state.result) return;
  const m = model();
  const errs = [];
  if (m.res && m.res.isError) errs.push(errorText(m.res));
  if (state.cancelled) errs.push(state.cancelled);
  const parts = [topbar(m),
    errs.length ? h("section", { class: "box" }, h("ul", { class: "problems" }, errs.map((e) => h("li", {}, e)))) : null,
    m.res && !m.res.isError && !m.rows.length ? h("p", { class: "muted" }, "Instagram returned no rows (insights may take up to 48 hours to appear).") : null,
    totalsPart(m), retention(m), seriesPart(m), breakdownPart(m), objectPart(m), postsPart(m)];
  show(app, parts);
  app.setAttribute("aria-busy", m.res && !state.loading ? "false" : "true");
}
