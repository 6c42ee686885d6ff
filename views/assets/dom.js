"use strict";
// Small DOM helpers shared by the views. Text from tool arguments and
// results is only ever set as text (textContent), never parsed as HTML;
// styles are only set through the CSSOM (el.style), which the document's
// hash-only style-src allows.

const SVG_NS = "http://www.w3.org/2000/svg";

function build(el, attrs, kids) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "text") el.textContent = String(v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const kid of kids.flat(Infinity)) {
    if (kid === null || kid === undefined || kid === false) continue;
    el.append(kid instanceof Node ? kid : String(kid));
  }
  return el;
}

// h builds an HTML element: h("p", {class: "x"}, "text", child…).
function h(tag, attrs, ...kids) { return build(document.createElement(tag), attrs, kids); }

// svg builds an SVG element.
function svg(tag, attrs, ...kids) { return build(document.createElementNS(SVG_NS, tag), attrs, kids); }

const isObj = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
const obj = (v) => (isObj(v) ? v : {});
const arr = (v) => (Array.isArray(v) ? v : []);
const str = (v) => (typeof v === "string" ? v : "");
const num = (v) => (typeof v === "number" && Number.isFinite(v) ? v : null);

// httpsURL is the URL a view may load media from: only https URLs given in
// the tool's arguments or result, nothing else (no javascript:, data:, …).
function httpsURL(v) {
  if (typeof v !== "string" || v.length > 8192) return null;
  try {
    const u = new URL(v);
    return u.protocol === "https:" ? u.href : null;
  } catch (e) {
    return null;
  }
}

// chars counts code points, as the server's limits do (utf8.RuneCount).
const chars = (s) => Array.from(s).length;

let locale;
function setLocale(l) {
  try {
    locale = Intl.getCanonicalLocales(l)[0];
  } catch (e) {
    locale = undefined;
  }
}

// fmtNum formats n with up to digits decimals (exactly digits when fixed).
function fmtNum(n, digits, fixed) {
  if (typeof n !== "number" || !Number.isFinite(n)) return "–";
  const d = digits === undefined ? 0 : digits;
  return new Intl.NumberFormat(locale, { maximumFractionDigits: d, minimumFractionDigits: fixed ? d : 0 }).format(n);
}

let timeZone;
function setTimeZone(z) {
  try {
    new Intl.DateTimeFormat(undefined, { timeZone: z });
    timeZone = z;
  } catch (e) {
    timeZone = undefined;
  }
}

function fmtDate(d, withTime) {
  const o = { month: "short", day: "numeric", timeZone };
  if (withTime) Object.assign(o, { hour: "2-digit", minute: "2-digit" });
  return new Intl.DateTimeFormat(locale, o).format(d);
}

function parseTime(s) {
  if (typeof s !== "string" || s === "") return null;
  // Graph timestamps are 2026-11-23T10:00:00+0000: add the colon Date wants.
  const t = Date.parse(s.replace(/([+-]\d\d)(\d\d)$/, "$1:$2"));
  return Number.isFinite(t) ? new Date(t) : null;
}

// errorText is a tool error result (docs/reference.md §4) as one sentence.
function errorText(res) {
  const e = obj(obj(res && res.structuredContent).error);
  if (e.message) return (e.kind ? e.kind + ": " : "") + str(e.message) + (e.action ? " " + str(e.action) : "");
  const t = arr(res && res.content).find((c) => c && c.type === "text");
  return t ? str(t.text) : "The tool failed.";
}

// show replaces the children of el with parts (nulls skipped, arrays
// flattened), keeping the keyboard focus on the element with the same
// data-key, since every render rebuilds the DOM.
function show(el, parts) {
  const active = document.activeElement;
  const key = active && active.dataset ? active.dataset.key : undefined;
  el.replaceChildren(...parts.flat(Infinity).filter(Boolean));
  if (key) {
    const again = el.querySelector('[data-key="' + key + '"]');
    if (again && !again.disabled) again.focus();
  }
}
