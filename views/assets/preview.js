// Post preview (issue 16): the post as Instagram will show it, drawn from
// ui/notifications/tool-input (the arguments of validate_post, or of
// create_post for a draft) and ui/notifications/tool-result (validate_post's
// {valid, problems, warnings, media, quota}, or the publish result).

// Instagram's rules the preview shows (docs/graph-api.md §2 and §13).
const FEED_MIN_RATIO = 4 / 5;
const FEED_MAX_RATIO = 1.91;
const TALL_RATIO = 9 / 16;
const CAPTION_PREVIEW = 125; // characters shown before "… more"
// The server's own limits and counting rules (publish.MaxHashtags …,
// publish.HashtagPattern, publish.MentionPattern), filled in by the server
// when it builds the view: the preview counts exactly as validation does.
const LIMITS = /*CAPTION_LIMITS*/{};
const HASHTAG_RE = new RegExp(/*HASHTAG_PATTERN*/"", "gu");
// Group 2 is a run of mentions written together (@a@b): one per '@'.
const MENTION_RE = new RegExp(/*MENTION_PATTERN*/"", "gu");
const MENTION_ONE = /[@＠][A-Za-z0-9._]+/gu;

const PUBLISH_TOOL = { post: "create_post", carousel: "create_carousel", reel: "publish_reel", story: "publish_story" };
const KIND_OF_TOOL = { create_post: "post", create_carousel: "carousel", publish_reel: "reel", publish_story: "story" };
const KIND_LABEL = { post: "Image post", carousel: "Carousel", reel: "Reel", story: "Story" };

const state = {
  input: null, // tool arguments
  result: null, // CallToolResult
  cancelled: "",
  slide: 0,
  expanded: false,
  natural: {}, // media field → [width, height] read from the loaded media
  failed: {}, // media URL → true when it did not load
  approval: null, // {tool, sending} | {tool, result} | {tool, error}
};

Bridge.follow(state, render);
Bridge.start("igmcp post preview").catch((e) => fatal(e));

function fatal(e) {
  document.getElementById("app").replaceChildren(h("p", { class: "muted" }, "The preview could not start: " + e.message));
}

// --- the post, from the arguments and the result ---------------------------

function guessKind(a) {
  // Without hostContext.toolInfo the arguments tell the kind.
  if (Array.isArray(a.items)) return "carousel";
  if (str(a.video_url) || (str(a.file_path) && !str(a.image_url))) return "reel";
  return "post";
}

function model() {
  const input = obj(state.input);
  let tool = Bridge.toolName();
  let kind;
  let post;
  if (tool === "validate_post" || (!tool && typeof input.kind === "string" && isObj(input.post))) {
    tool = "validate_post";
    kind = str(input.kind);
    post = obj(input.post);
  } else {
    kind = KIND_OF_TOOL[tool] || guessKind(input);
    post = input;
  }
  if (!KIND_LABEL[kind]) kind = "post";
  const res = state.result;
  const sc = obj(res && res.structuredContent);
  const info = {};
  for (const x of arr(sc.media)) {
    if (isObj(x) && typeof x.field === "string") info[x.field.replace(/^post\./, "")] = x;
  }
  const items = mediaItems(kind, post);
  for (const it of items) it.info = info[it.field] || null;
  let cover = null;
  if (kind === "reel" && str(post.cover_url)) {
    cover = { field: "cover_url", type: "image", raw: str(post.cover_url), url: httpsURL(post.cover_url), alt: "", tags: [], local: "" };
    cover.info = info.cover_url || null;
  }
  return {
    tool, kind, post, items, cover, res, sc,
    account: str(input.account),
    // Who posts: the checked account's username (validate_post), or the
    // account argument as given.
    handle: str(sc.username) || str(input.account),
    problems: arr(sc.problems).filter(isObj),
    warnings: arr(sc.warnings).filter((w) => typeof w === "string").map(warning),
  };
}

function mediaItem(it, prefix) {
  const video = str(it.video_url) !== "";
  const raw = str(video ? it.video_url : it.image_url);
  return {
    field: prefix + (video ? "video_url" : "image_url"),
    type: video ? "video" : "image",
    raw, url: httpsURL(raw), local: "",
    alt: str(it.alt_text),
    tags: arr(it.user_tags).filter(isObj),
  };
}

function mediaItems(kind, post) {
  if (kind === "carousel") return arr(post.items).slice(0, 20).map((it, i) => mediaItem(obj(it), "items[" + i + "]."));
  const one = mediaItem(post, "");
  if (kind === "reel") one.type = "video";
  if (!one.raw && str(post.file_path)) {
    one.field = "file_path";
    one.local = str(post.file_path);
    if (kind === "story" && !/\.(mp4|mov)$/i.test(one.local)) one.type = "image";
  }
  return [one];
}

// placeOf is where a problem belongs, from its field (a JSON path under
// "post.", as validate_post reports it).
function placeOf(field, m) {
  let f = str(field);
  if (f === "" || f === "post") return "general";
  f = f.replace(/^post\./, "");
  const it = /^items\[(\d+)\]/.exec(f);
  if (it) return Number(it[1]) < m.items.length ? "item" + it[1] : "general";
  if (/^(image_url|video_url|file_path|alt_text|user_tags)\b/.test(f)) return "item0";
  if (/^(cover_url|thumb_offset)\b/.test(f)) return m.cover ? "cover" : "item0";
  if (/^caption\b/.test(f)) return "caption";
  if (/^collaborators\b/.test(f)) return "collaborators";
  if (/^(location_id|first_comment|share_to_feed|audio_name|trial_params)\b/.test(f)) return "details";
  return "general";
}

// warning is a preflight warning with the field it names, when it starts
// with one ("items[2].image_url: the image is 1920 px wide; …").
function warning(w) {
  const x = /^((?:post\.)?[a-z_]+(?:\[\d+\])?(?:\.[a-z_]+)*):\s/.exec(w);
  return { message: w, field: x ? x[1] : "" };
}

function problemsAt(m, place) {
  return m.problems.filter((p) => placeOf(p.field, m) === place);
}

function warningsAt(m, place) {
  const list = m.warnings.filter((w) => placeOf(w.field, m) === place);
  if (!list.length) return null;
  return h("ul", { class: "warnings" }, list.map((w) => h("li", { "data-field": w.field }, w.message)));
}

function problemList(list) {
  if (!list.length) return null;
  return h("ul", { class: "problems" }, list.map((p) =>
    h("li", { "data-field": str(p.field), "data-rule": str(p.rule) || null, "data-kind": str(p.kind) }, str(p.message) || str(p.kind))));
}

// --- geometry ---------------------------------------------------------------

function dims(it) {
  const i = obj(it && it.info);
  if (num(i.width) > 0 && num(i.height) > 0) return [i.width, i.height];
  return (it && state.natural[it.field]) || null;
}

// frameRatio is the width/height Instagram shows the post at: Reels and
// Stories fill a 9:16 screen; a feed image keeps its own ratio within
// 4:5 … 1.91:1; a carousel shows every item at its first item's ratio
// (1:1 when that is unknown) (docs/graph-api.md §2, §13).
function frameRatio(m) {
  if (m.kind === "reel" || m.kind === "story") return TALL_RATIO;
  const d = dims(m.items[0]);
  if (!d) return 1;
  return Math.min(FEED_MAX_RATIO, Math.max(FEED_MIN_RATIO, d[0] / d[1]));
}

function ratioName(r) {
  const named = [["1:1", 1], ["4:5", 4 / 5], ["1.91:1", 1.91], ["9:16", 9 / 16], ["16:9", 16 / 9], ["3:4", 3 / 4]];
  for (const [n, v] of named) if (Math.abs(r - v) / v < 0.01) return n;
  return fmtNum(r, 2) + ":1";
}

// crop is the part of a w×h media a frame of ratio f shows, as fractions of
// the media: centred, the full height when the media is wider, else the full
// width.
function crop(d, f) {
  const r = d[0] / d[1];
  if (r > f) {
    const w = f / r;
    return { x: (1 - w) / 2, y: 0, w, h: 1 };
  }
  const hh = r / f;
  return { x: 0, y: (1 - hh) / 2, w: 1, h: hh };
}

const pct = (v) => (v * 100).toFixed(2) + "%";
const cropAttr = (c) => [c.x, c.y, c.w, c.h].map((v) => v.toFixed(4)).join(" ");

// --- media elements -----------------------------------------------------------

function mediaEl(it, fit, offsetMs) {
  if (!it.url) {
    return h("div", { class: "placeholder" }, it.local ? "Local file " + it.local.split(/[\\/]/).pop() + " (uploaded when published)" : "No https URL to show");
  }
  if (state.failed[it.url]) return h("div", { class: "placeholder" }, "This media did not load in the preview.");
  const common = { class: "fit-" + fit, onerror: () => failed(it.url) };
  if (it.type === "video") {
    // A media fragment shows the frame at the cover offset without playing.
    const src = it.url + (num(offsetMs) > 0 ? "#t=" + (offsetMs / 1000).toFixed(3) : "");
    const v = h("video", Object.assign({ src, preload: "metadata", muted: true, playsinline: true, "aria-label": "Video " + it.field }, common));
    v.addEventListener("loadedmetadata", () => natural(it, v.videoWidth, v.videoHeight));
    return v;
  }
  const img = h("img", Object.assign({ src: it.url, alt: it.alt || "", referrerpolicy: "no-referrer" }, common));
  img.addEventListener("load", () => natural(it, img.naturalWidth, img.naturalHeight));
  return img;
}

function natural(it, w, hgt) {
  // Only when the result had no dimensions (preflight off or not fetched).
  if (!(w > 0 && hgt > 0) || dims(it)) return;
  state.natural[it.field] = [w, hgt];
  render();
}

function failed(url) {
  if (state.failed[url]) return;
  state.failed[url] = true;
  render();
}

// thumb is the whole media, scaled down, with the part the frame of ratio f
// shows outlined and the rest dimmed (no f: shown whole), and its user tags.
function thumb(it, f, label) {
  const S = 150;
  const d = dims(it);
  const inner = h("div", { class: "thumb-inner" });
  if (d) {
    const r = d[0] / d[1];
    inner.style.width = (r >= 1 ? S : S * r).toFixed(1) + "px";
    inner.style.height = (r >= 1 ? S / r : S).toFixed(1) + "px";
  } else {
    inner.style.width = S + "px";
    inner.style.height = S + "px";
  }
  inner.append(mediaEl(it, "fill"));
  if (d && f) {
    const c = crop(d, f);
    const win = h("div", { class: "crop", "aria-hidden": "true" });
    win.style.left = pct(c.x);
    win.style.top = pct(c.y);
    win.style.width = pct(c.w);
    win.style.height = pct(c.h);
    inner.append(win);
  }
  for (const t of it.tags) {
    const x = num(t.x);
    const y = num(t.y);
    if (x === null || y === null) continue;
    const dot = h("span", { class: "tagdot", title: "@" + str(t.username), "aria-hidden": "true" });
    dot.style.left = pct(Math.min(1, Math.max(0, x)));
    dot.style.top = pct(Math.min(1, Math.max(0, y)));
    inner.append(dot);
  }
  return h("figure", { class: "thumb" }, inner, label ? h("figcaption", { class: "muted" }, label) : null);
}

// --- caption ------------------------------------------------------------------

// mentionName drops the dots a mention match ends with: they end the
// sentence (the count still follows the server's pattern).
const mentionName = (m) => m.replace(/\.+$/, "");

function tokens(text) {
  const marks = [];
  for (const x of text.matchAll(HASHTAG_RE)) marks.push([x.index, x.index + x[0].length, "hashtag"]);
  for (const x of text.matchAll(MENTION_RE)) {
    const run = x.index + x[1].length;
    for (const m of x[2].matchAll(MENTION_ONE)) {
      const s = run + m.index;
      marks.push([s, s + mentionName(m[0]).length, "mention"]);
    }
  }
  marks.sort((a, b) => a[0] - b[0]);
  const out = [];
  let pos = 0;
  for (const [s, e, k] of marks) {
    if (s < pos) continue;
    if (s > pos) out.push({ t: text.slice(pos, s), k: "text" });
    out.push({ t: text.slice(s, e), k });
    pos = e;
  }
  if (pos < text.length) out.push({ t: text.slice(pos), k: "text" });
  return out;
}

function captionEl(m) {
  if (m.kind === "story") return h("p", { class: "caption muted" }, "Stories have no caption.");
  const text = str(m.post.caption);
  if (!text) return h("p", { class: "caption muted" }, "No caption.");
  const total = chars(text);
  const cut = !state.expanded && total > CAPTION_PREVIEW;
  let left = cut ? CAPTION_PREVIEW : total;
  const body = h("span", { class: "caption-text" });
  for (const t of tokens(text)) {
    if (left <= 0) break;
    const cps = Array.from(t.t);
    const part = cps.length > left ? cps.slice(0, left).join("") : t.t;
    left -= Math.min(cps.length, left);
    body.append(t.k === "text" ? part : h("span", { class: t.k }, part));
  }
  const p = h("p", { class: "caption", "data-chars": total, "data-shown": cut ? CAPTION_PREVIEW : total },
    h("b", {}, m.handle || "your_account"), " ", body);
  if (cut) {
    p.append(h("span", { class: "more-gap" }, "… "),
      h("button", { class: "linkish", "data-key": "more", "aria-expanded": "false", onclick: () => { state.expanded = true; render(); } }, "more"));
  } else if (total > CAPTION_PREVIEW) {
    p.append(" ", h("button", { class: "linkish", "data-key": "more", "aria-expanded": "true", onclick: () => { state.expanded = false; render(); } }, "less"));
  }
  return p;
}

function countRow(key, label, n, max) {
  return h("li", { class: n > max ? "over" : "", "data-count": key },
    h("span", {}, label), h("span", { class: "count" }, fmtNum(n) + " / " + fmtNum(max)));
}

function captionBox(m) {
  if (m.kind === "story") return null;
  const text = str(m.post.caption);
  const tags = text.match(HASHTAG_RE) || [];
  const mentions = Array.from(text.matchAll(MENTION_RE)).flatMap((x) => Array.from(x[2].matchAll(MENTION_ONE), (m) => mentionName(m[0])));
  return h("section", { class: "box", id: "caption-box", "aria-label": "Caption" },
    h("h2", {}, "Caption"),
    h("ul", { class: "counts" },
      countRow("chars", "Characters", chars(text), LIMITS.caption),
      countRow("hashtags", "Hashtags", tags.length, LIMITS.hashtags),
      countRow("mentions", "Mentions", mentions.length, LIMITS.mentions)),
    tags.length > LIMITS.hashtags ? h("p", { class: "muted" }, "Instagram shows at most " + LIMITS.hashtags + " hashtags on a post or Reel.") : null,
    chipList("hashtag", tags),
    chipList("mention", mentions),
    problemList(problemsAt(m, "caption")),
    warningsAt(m, "caption"));
}

function chipList(cls, list) {
  if (!list.length) return null;
  return h("p", { class: "chips" }, list.map((t) => h("span", { class: "chip " + cls }, t)));
}

// --- the parts of the view ------------------------------------------------------

function status(m) {
  const done = state.approval && state.approval.result && !state.approval.result.isError ? obj(state.approval.result.structuredContent) : null;
  if (done && str(done.status) === "published") return h("span", { class: "pill ok", id: "status" }, "Published");
  const r = m.res;
  if (state.cancelled) return h("span", { class: "pill warn" }, "Cancelled");
  if (!r) return h("span", { class: "pill" }, "Checking…");
  if (r.isError) return h("span", { class: "pill bad" }, "Failed");
  if (m.tool === "validate_post") {
    if (m.sc.valid === true) return h("span", { class: "pill ok", id: "status" }, "Ready to publish");
    const n = m.problems.length;
    return h("span", { class: "pill bad", id: "status" }, n + (n === 1 ? " problem" : " problems"));
  }
  const s = str(m.sc.status);
  const cls = s === "published" || s === "draft" ? "ok" : "warn";
  return h("span", { class: "pill " + cls, id: "status" }, { draft: "Draft ready", published: "Published", processing: "Processing" }[s] || s || "Done");
}

function topbar(m) {
  const n = m.items.length;
  return h("header", { class: "topbar" },
    h("h1", {}, "Post preview"),
    h("span", { class: "pill", id: "kind" }, KIND_LABEL[m.kind] + (m.kind === "carousel" ? " · " + n + " items" : "")),
    status(m),
    m.sc.sandbox === true ? h("span", { class: "pill warn" }, "sandbox") : null,
    m.handle ? h("span", { class: "muted", id: "as" }, "as " + m.handle) : null);
}

function generalBox(m) {
  const list = problemsAt(m, "general");
  const warns = warningsAt(m, "general");
  const errs = [];
  if (m.res && m.res.isError) errs.push({ message: errorText(m.res), kind: "error" });
  if (state.cancelled) errs.push({ message: state.cancelled, kind: "cancelled" });
  if (!list.length && !warns && !errs.length) return null;
  return h("section", { class: "box", id: "general", "aria-label": "Problems and warnings" },
    problemList(errs.concat(list)), warns);
}

function slideTo(i, m) {
  state.slide = Math.max(0, Math.min(m.items.length - 1, i));
  render();
}

function phone(m) {
  const ratio = frameRatio(m);
  const tall = m.kind === "reel" || m.kind === "story";
  const frame = h("div", {
    class: "frame" + (tall ? " tall" : ""), id: "frame",
    "data-frame-ratio": ratio.toFixed(4), "data-ratio-name": ratioName(ratio),
  });
  frame.style.aspectRatio = String(ratio);
  let content;
  let label = "";
  if (m.kind === "reel") {
    const it = m.cover || m.items[0];
    content = mediaEl(it, "cover", it === m.cover ? 0 : num(m.post.thumb_offset));
    label = m.cover ? "Reel · cover" : "Reel · frame at " + fmtNum((num(m.post.thumb_offset) || 0) / 1000, 1) + " s";
  } else if (m.kind === "story") {
    content = mediaEl(m.items[0], "contain");
    label = "Story";
  } else {
    state.slide = Math.max(0, Math.min(m.items.length - 1, state.slide));
    const it = m.items[state.slide];
    content = it ? mediaEl(it, "cover") : h("div", { class: "placeholder" }, "No media");
  }
  frame.append(content);
  if (label) frame.append(h("span", { class: "frame-label" }, label));
  const head = h("div", { class: "phone-head" }, h("span", { class: "avatar", "aria-hidden": "true" }),
    h("span", {}, h("b", {}, m.handle || "your_account"),
      arr(m.post.collaborators).length ? h("span", { class: "muted" }, " with " + arr(m.post.collaborators).map((c) => "@" + str(c)).join(", ")) : null));
  const parts = [head];
  if (m.kind === "carousel" && m.items.length > 1) {
    frame.setAttribute("tabindex", "0");
    frame.setAttribute("data-key", "frame");
    frame.setAttribute("role", "group");
    frame.setAttribute("aria-roledescription", "carousel");
    frame.setAttribute("aria-label", "Item " + (state.slide + 1) + " of " + m.items.length + "; arrow keys change items");
    frame.addEventListener("keydown", (e) => {
      if (e.key === "ArrowRight") { slideTo(state.slide + 1, m); e.preventDefault(); }
      if (e.key === "ArrowLeft") { slideTo(state.slide - 1, m); e.preventDefault(); }
    });
    frame.append(h("span", { class: "counter" }, state.slide + 1 + "/" + m.items.length));
    parts.push(frame, h("div", { class: "carousel-nav" },
      h("button", { "data-key": "prev", "aria-label": "Previous item", disabled: state.slide === 0, onclick: () => slideTo(state.slide - 1, m) }, "‹"),
      h("span", { class: "dots", "aria-hidden": "true" }, m.items.map((_, i) => h("span", { class: i === state.slide ? "dot on" : "dot" }))),
      h("button", { "data-key": "next", "aria-label": "Next item", disabled: state.slide === m.items.length - 1, onclick: () => slideTo(state.slide + 1, m) }, "›")));
  } else {
    frame.setAttribute("role", "img");
    frame.setAttribute("aria-label", (label || KIND_LABEL[m.kind]) + " shown at " + ratioName(ratio));
    parts.push(frame);
  }
  parts.push(h("p", { class: "muted frame-note" }, "Shown at " + ratioName(ratio) + (m.kind === "carousel" ? ", the first item's ratio, for every item" : "")));
  parts.push(captionEl(m));
  return h("section", { class: "phone" + (tall ? " tall" : ""), "aria-label": "As Instagram shows it" }, parts);
}

function infoLine(it, withType) {
  const i = obj(it.info);
  const d = dims(it);
  const bits = withType ? [it.type] : [];
  if (d) bits.push(d[0] + "×" + d[1], ratioName(d[0] / d[1]));
  if (str(i.format)) bits.push(i.format);
  if (num(i.bytes)) bits.push(fmtNum(i.bytes / 1024) + " KB");
  if (num(i.duration_seconds)) bits.push(fmtNum(i.duration_seconds, 1) + " s");
  if (it.info && i.checked === false) bits.push("not examined");
  return bits.join(" · ");
}

function cropNote(it, f) {
  const d = dims(it);
  if (!d) return "Size unknown: the crop is shown once the media loads.";
  const c = crop(d, f);
  if (c.w > 0.995 && c.h > 0.995) return "Shown whole at " + ratioName(f) + ".";
  return c.w < 1
    ? "Cropped to " + ratioName(f) + ": keeps the middle " + fmtNum(c.w * 100) + "% of the width."
    : "Cropped to " + ratioName(f) + ": keeps the middle " + fmtNum(c.h * 100) + "% of the height.";
}

function tagList(tags) {
  if (!tags.length) return null;
  return h("p", { class: "tags" }, "Tagged: ", tags.map((t, i) =>
    h("span", { class: "chip mention" }, "@" + str(t.username) + (num(t.x) !== null ? " (" + fmtNum(t.x, 2) + ", " + fmtNum(t.y, 2) + ")" : ""), i < tags.length - 1 ? " " : "")));
}

function itemCard(m, it, i, f) {
  const d = dims(it);
  const c = d && f ? crop(d, f) : null;
  const probs = problemsAt(m, "item" + i);
  return h("article", {
    class: "item" + (probs.length ? " has-problems" : ""), id: "item-" + i, "data-index": i, "data-field": it.field,
    "data-crop": c ? cropAttr(c) : null, "aria-label": (m.kind === "carousel" ? "Item " + (i + 1) : "Media"),
  },
  thumb(it, f, null),
  h("div", { class: "item-text" },
    h("h3", {}, m.kind === "carousel" ? "Item " + (i + 1) : it.type === "video" ? "Video" : "Image", " ", h("span", { class: "muted" }, infoLine(it, m.kind === "carousel"))),
    f ? h("p", { class: "muted" }, cropNote(it, f)) : null,
    it.raw ? h("p", { class: "mono" }, it.raw) : null,
    it.type === "image" && m.kind !== "story" && m.kind !== "reel"
      ? h("p", { class: "alt" }, h("b", {}, "Alt text: "), it.alt ? it.alt : h("span", { class: "muted" }, "none (Instagram generates one)"))
      : null,
    tagList(it.tags),
    problemList(probs),
    warningsAt(m, "item" + i)));
}

function coverCard(m) {
  if (!m.cover) return null;
  return h("article", { class: "item", id: "cover", "data-field": "cover_url" },
    h("div", { class: "thumbs" }, thumb(m.cover, TALL_RATIO, "Reel 9:16"), thumb(m.cover, 1, "Feed grid 1:1")),
    h("div", { class: "item-text" },
      h("h3", {}, "Cover ", h("span", { class: "muted" }, infoLine(m.cover, false))),
      h("p", { class: "mono" }, m.cover.raw),
      problemList(problemsAt(m, "cover")),
      warningsAt(m, "cover")));
}

function detailRows(m) {
  const p = m.post;
  const rows = [];
  const collabs = arr(p.collaborators).map(str).filter(Boolean);
  if (m.kind !== "story") {
    rows.push(h("div", { id: "collaborators" },
      h("b", {}, "Collaborators "), h("span", { class: "count" + (collabs.length > LIMITS.collaborators ? " over" : "") }, collabs.length + " / " + LIMITS.collaborators), " ",
      collabs.length ? collabs.map((c) => h("span", { class: "chip mention" }, "@" + c)) : h("span", { class: "muted" }, "none"),
      problemList(problemsAt(m, "collaborators")), warningsAt(m, "collaborators")));
  }
  if (m.kind === "reel") {
    rows.push(h("div", {}, h("b", {}, "Shown in "), p.share_to_feed === false ? "the Reels tab only" : "the feed and the Reels tab"));
    if (str(p.audio_name)) rows.push(h("div", {}, h("b", {}, "Audio "), p.audio_name));
    if (isObj(p.trial_params)) rows.push(h("div", {}, h("b", {}, "Trial Reel "), "shown to non-followers first (" + str(p.trial_params.graduation_strategy) + ")"));
  }
  if (str(p.location_id)) rows.push(h("div", {}, h("b", {}, "Location "), h("span", { class: "mono" }, p.location_id)));
  if (str(p.first_comment)) rows.push(h("div", {}, h("b", {}, "First comment "), p.first_comment));
  const q = obj(m.sc.quota);
  if (num(q.quota_total)) rows.push(h("div", { id: "quota" }, h("b", {}, "Quota "), fmtNum(q.quota_usage) + " of " + fmtNum(q.quota_total) + " posts used in 24 h (" + fmtNum(q.remaining) + " left)"));
  const probs = problemList(problemsAt(m, "details"));
  const warns = warningsAt(m, "details");
  if (!rows.length && !probs && !warns) return null;
  return h("section", { class: "box details", "aria-label": "Details" }, rows, probs, warns);
}

function details(m) {
  return h("div", { class: "details-col" }, captionBox(m), detailRows(m));
}

function itemsBox(m) {
  const f = m.kind === "reel" || m.kind === "story" ? null : frameRatio(m);
  return h("section", { class: "box", id: "items", "aria-label": m.kind === "carousel" ? "Items" : "Media" },
    h("h2", {}, m.kind === "carousel" ? "Items (" + m.items.length + ")" : "Media"),
    h("div", { class: "item-grid" }, m.items.map((it, i) => itemCard(m, it, i, f)), coverCard(m)));
}

// --- approving ------------------------------------------------------------------

// approval is the one tool call the Approve button makes: the approve call
// of validate_post's result, exactly as the server gave it (the kind's
// publishing tool with the post, the checked account and an idempotency key
// derived from both, so that approving again, even from this view rendered
// again later, replays the first publish instead of posting twice), or
// publish_container for a create_post draft (safe to repeat by itself).
function approval(m) {
  if (!m.res) return { reason: "Waiting for the check to finish." };
  if (m.res.isError || state.cancelled) return { reason: "Nothing to approve: the call did not succeed." };
  if (!Bridge.canCallTools()) return { reason: "This host does not let views call tools: ask the agent to publish." };
  if (m.tool === "validate_post") {
    if (m.sc.valid !== true) return { reason: "Fix the problems first: a publish now would fail." };
    const ap = obj(m.sc.approve);
    const want = PUBLISH_TOOL[str(obj(state.input).kind)];
    if (!want || ap.tool !== want || !isObj(ap.arguments)) return { reason: "Nothing to approve: the check did not say how to publish this post." };
    const draft = ap.arguments.publish === false;
    return { tool: ap.tool, args: ap.arguments, label: draft ? "Approve: create the draft" : "Approve and publish" };
  }
  const s = str(m.sc.status);
  if (s === "draft" && str(m.sc.container_id)) {
    const args = { container_id: m.sc.container_id };
    if (m.account) args.account = m.account;
    return { tool: "publish_container", args, label: "Approve and publish this draft" };
  }
  if (s === "published") return { reason: "Already published." };
  if (s === "processing") return { reason: "Instagram is still processing it: " + (str(m.sc.next_action) || "check back later.") };
  return { reason: "Nothing to approve." };
}

async function approve(a) {
  // One call per view, whatever happens next: a second click, a failure or
  // a lost answer never sends another (a retry could publish twice).
  if (state.approval || !a.tool) return;
  state.approval = { tool: a.tool, sending: true };
  render();
  try {
    state.approval = { tool: a.tool, result: obj(await Bridge.callTool(a.tool, a.args)) };
  } catch (e) {
    state.approval = { tool: a.tool, error: e.message };
  }
  render();
}

function outcome() {
  const a = state.approval;
  if (!a) return null;
  if (a.sending) return h("p", { id: "outcome", class: "pill", role: "status" }, "Sent to " + a.tool + "…");
  if (a.error !== undefined) {
    return h("div", { id: "outcome", role: "status" }, problemList([{ message: "The host did not run " + a.tool + ": " + a.error + ". Nothing more is sent from this view." }]));
  }
  const r = a.result;
  if (r.isError) return h("div", { id: "outcome", role: "status" }, problemList([{ message: errorText(r) }]));
  const sc = obj(r.structuredContent);
  const link = httpsURL(sc.permalink);
  return h("div", { id: "outcome", class: "ok-box", role: "status" },
    h("p", {}, h("b", {}, { published: "Published", draft: "Draft created", processing: "Processing" }[str(sc.status)] || "Done"),
      sc.replayed === true ? " (already published earlier; nothing new was posted)" : "",
      str(sc.media_id) ? h("span", { class: "muted" }, " · media " + sc.media_id) : null),
    link && Bridge.canOpenLinks()
      ? h("button", { "data-key": "open", onclick: () => Bridge.openLink(link).catch(() => {}) }, "Open on Instagram")
      : link ? h("p", { class: "mono" }, link) : null,
    str(sc.next_action) ? h("p", { class: "muted" }, sc.next_action) : null);
}

function approveBox(m) {
  const a = approval(m);
  return h("section", { class: "box approve", "aria-label": "Approve" },
    h("button", {
      class: "primary", id: "approve", "data-key": "approve",
      disabled: !a.tool || state.approval !== null, onclick: () => approve(a),
    }, a.label || "Approve and publish"),
    h("p", { class: "muted", id: "approve-note" }, state.approval
      ? "Sent " + state.approval.tool + " once; this view sends nothing more."
      : a.tool
        ? "Sends " + a.tool + " once, with exactly the arguments below, through your host; approving this post again replays it, never a second post."
        : a.reason),
    a.tool ? h("details", {}, h("summary", {}, "Arguments"), h("pre", { class: "mono", id: "approve-args" }, JSON.stringify(a.args, null, 2))) : null,
    outcome());
}

// --- rendering --------------------------------------------------------------------

function render() {
  const app = document.getElementById("app");
  if (!state.input && !state.result) return;
  const m = model();
  show(app, [topbar(m), generalBox(m), h("div", { class: "layout" }, phone(m), details(m)), itemsBox(m), approveBox(m)]);
  app.setAttribute("aria-busy", m.res ? "false" : "true");
}
