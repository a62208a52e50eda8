// Chronicle's audit page: find events (by user name, type, dates, words), open an aggregate's
// history with word-level diffs, see a whole project at an instant, check an event's inclusion
// proof in this browser against a key the auditor pinned, verify the log. It calls only the
// service's own API with the signed-in user's token (kept in sessionStorage, never in
// localStorage); every view lives in the URL's fragment, so a link reopens it. Everything shown
// goes through textContent, never innerHTML.
"use strict";

const $ = (id) => document.getElementById(id);
const PINNED_KEY = "chronicle.pinnedKey"; // a public key: not a secret, so it may stay
const LONG = 160; // characters shown of a value before "Show all"
let token = sessionStorage.getItem("chronicle.token");
let nextCursor = null;
let usernames = new Map(); // user id -> username, for assignees in the project view
// Each view paints only the answer to its latest request: an older one that arrives late
// (the first unfiltered page, a history opened before the next) is dropped.
const latest = { events: 0, detail: 0 };
let shownAggregate = null; // the aggregate whose history is on screen
const AGGREGATE_ID = /^(user|message|project|ticket)_[0-9a-f]{32}$/;

function show(element, visible) { element.hidden = !visible; }

function say(text, isError = false) {
  const box = $("message");
  box.textContent = text;
  box.className = isError ? "error" : "";
  show(box, Boolean(text));
}

class ApiError extends Error {
  constructor(status, detail) {
    super(`${status}: ${detail}`);
    this.status = status;
  }
}

async function api(path, options = {}) {
  const headers = Object.assign({}, options.headers || {});
  if (token) headers.Authorization = `Bearer ${token}`;
  const response = await fetch(path, Object.assign({}, options, { headers }));
  const type = response.headers.get("content-type") || "";
  const body = type.includes("json") ? await response.json() : await response.text();
  if (!response.ok) {
    const detail = (body && (body.detail || body.title)) || response.statusText;
    if (response.status === 401 && token) signOut();
    throw new ApiError(response.status, typeof detail === "string" ? detail : JSON.stringify(detail));
  }
  return body;
}

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

function cell(row, text, className) {
  const td = element("td", text === null || text === undefined ? "—" : text, className);
  row.appendChild(td);
  return td;
}

function button(text, onClick, label) {
  const node = element("button", text);
  node.type = "button";
  if (label) node.setAttribute("aria-label", label);
  node.addEventListener("click", onClick);
  return node;
}

function when(timestamp) {
  return (timestamp || "").replace("T", " ").replace(/(\.\d{3})\d*/, "$1").replace("+00:00", "").replace("Z", "");
}

function who(actor, userId) {
  if (!actor) return userId || "—";
  if (actor.system) return actor.username || actor.user_id;
  const name = actor.username || actor.user_id || "unknown";
  return actor.role ? `${name} (${actor.role})` : name;
}

function text(value) {
  return typeof value === "string" ? value : JSON.stringify(value);
}

// A value in full: cut at LONG characters behind a "Show all" toggle.
function fullValue(value, className) {
  const whole = text(value);
  const span = element("span", whole, className);
  if (whole === undefined || whole.length <= LONG) return span;
  const wrapper = element("span");
  span.textContent = `${whole.slice(0, LONG)}…`;
  const toggle = button("Show all", () => {
    const open = toggle.getAttribute("aria-expanded") === "true";
    span.textContent = open ? `${whole.slice(0, LONG)}…` : whole;
    toggle.textContent = open ? "Show all" : "Show less";
    toggle.setAttribute("aria-expanded", String(!open));
  });
  toggle.className = "link";
  toggle.setAttribute("aria-expanded", "false");
  wrapper.append(span, " ", toggle);
  return wrapper;
}

// The word-level parts the API computed: deleted words struck through, inserted ones marked.
function diffView(parts) {
  const span = element("span", null, "diff");
  for (const part of parts) {
    const tag = part.op === "delete" ? "del" : part.op === "insert" ? "ins" : "span";
    span.appendChild(element(tag, part.text));
  }
  return span;
}

function changeLine(change, created) {
  const line = element("span", null, "change");
  line.appendChild(element("code", created ? `${change.field} = ` : `${change.field}: `));
  if (created) {
    line.appendChild(fullValue(change.new, "new"));
  } else if (change.diff) {
    line.appendChild(diffView(change.diff));
  } else {
    line.append(fullValue(change.old, "old"), " → ", fullValue(change.new, "new"));
  }
  return line;
}

// One microsecond before an ISO-8601 instant, as ISO-8601 in UTC with microseconds.
function justBefore(timestamp) {
  const match = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,6}))?(Z|[+-]\d\d:\d\d)$/.exec(timestamp);
  if (!match) return timestamp;
  const millis = Date.parse(`${match[1]}${match[3]}`);
  const micros = BigInt(millis) * 1000n + BigInt((match[2] || "").padEnd(6, "0")) - 1n;
  const seconds = new Date(Number(micros / 1000000n) * 1000).toISOString().slice(0, 19);
  return `${seconds}.${String(micros % 1000000n).padStart(6, "0")}Z`;
}

// -- the URL: every view reopens from its fragment -------------------------------------------

const FILTERS = ["user", "event_type", "aggregate_type", "since", "until", "q", "correlation_id"];

function currentView() { return new URLSearchParams(location.hash.slice(1)); }

function go(changes) {
  const view = currentView();
  for (const [name, value] of Object.entries(changes)) {
    if (value === null || value === undefined || value === "") view.delete(name);
    else view.set(name, String(value));
  }
  const next = `#${view}`;
  if (next === location.hash || (next === "#" && !location.hash)) render();
  else location.hash = next;
}

function render() {
  if (!token) return;
  const view = currentView();
  $("user").value = view.get("user") || "";
  $("event-type").value = view.get("event_type") || "";
  $("aggregate-type").value = view.get("aggregate_type") || "";
  $("since").value = view.get("since") || "";
  $("until").value = view.get("until") || "";
  $("q").value = view.get("q") || "";
  $("correlation-id").value = view.get("correlation_id") || "";
  $("order").value = view.get("order") === "oldest" ? "oldest" : "";
  const filter = [...FILTERS, "order"].map((name) => view.get(name) || "").join("|");
  if (filter !== render.lastFilter) {
    render.lastFilter = filter;
    loadEvents(true);
  }
  const aggregate = view.get("aggregate");
  const version = Number(view.get("version")) || null;
  if (aggregate && aggregate === shownAggregate && version) showState(aggregate, version);
  else if (aggregate) openAggregate(aggregate, version);
  else if (view.get("project") && view.get("at")) openProject(view.get("project"), view.get("at"));
}
render.lastFilter = null;

window.addEventListener("hashchange", render);

// -- session ---------------------------------------------------------------------------------

async function signedIn(name) {
  show($("login"), false);
  show($("signed-in"), true);
  $("who").textContent = name || "";
  try {
    await api("/audit/events?limit=1");
  } catch (error) {
    if (error.status === 403) {
      say(`This page is for auditors and admins: ${name} may not read the audit trail (403).`, true);
      show($("main"), false);
      return;
    }
    say(error.message, true);
    return;
  }
  say("");
  show($("main"), true);
  loadUsernames();
  render.lastFilter = null;
  render();
}

function signOut() {
  token = null;
  sessionStorage.removeItem("chronicle.token");
  sessionStorage.removeItem("chronicle.user");
  show($("login"), true);
  show($("signed-in"), false);
  show($("main"), false);
}

$("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new URLSearchParams({ username: $("username").value, password: $("password").value });
  try {
    const body = await api("/auth/token", { method: "POST", body: form });
    token = body.access_token;
    sessionStorage.setItem("chronicle.token", token);
    sessionStorage.setItem("chronicle.user", $("username").value);
    $("password").value = "";
    say("");
    await signedIn($("username").value);
  } catch (error) {
    say(`Sign-in failed (${error.message})`, true);
  }
});

$("logout").addEventListener("click", signOut);

async function loadUsernames() {
  try {
    const page = await api("/audit/events?event_type=UserCreated&limit=1000");
    usernames = new Map(page.events.map((event) => [event.aggregate_id, event.data.username]));
  } catch (error) {
    usernames = new Map();
  }
}

$("verify").addEventListener("click", async () => {
  const box = $("verification");
  box.textContent = "Verifying…";
  box.className = "";
  show(box, true);
  try {
    const report = await api("/audit/verify");
    const trust = {
      trusted: "the latest seal is signed by a trusted key",
      unsigned: "the latest seal is NOT signed by a trusted key (unsigned, or signed by another key)",
      unanchored: "no trusted key is configured: nothing ties the seals to a key outside the database",
    }[report.trust] || report.trust;
    const tail = report.unsealed_events
      ? `${report.unsealed_events} event(s) not sealed yet` +
        (report.unsealed_seconds ? ` (for ${Math.round(report.unsealed_seconds)} s)` : "")
      : "every event sealed";
    const unsigned = report.unsigned_seals
      ? ` (${report.unsigned_seals === report.seals_checked ? "all" : report.unsigned_seals} of them unsigned: no key vouches for ${report.unsigned_seals === 1 ? "it" : "them"})`
      : report.seals_checked ? " (all signed)" : "";
    const seals = `${report.seals_checked} seal(s)${unsigned}`;
    if (report.intact) {
      box.textContent = `Intact: ${report.events_checked} events and ${seals} checked; ${tail}. Trust: ${trust}.`;
      box.className = report.trust === "trusted" && !report.unsigned_seals ? "intact" : "warning";
    } else {
      const first = report.problems[0];
      box.textContent = `Tampering detected (${report.problems.length} problem(s)). First: ${first.kind} — ${first.message}. ${seals} checked; ${tail}. Trust: ${trust}.`;
      box.className = "tampered";
    }
  } catch (error) {
    box.textContent = `Verification failed: ${error.message}`;
    box.className = "tampered";
  }
});

// -- events ----------------------------------------------------------------------------------

function filterQuery(view = currentView()) {
  const query = new URLSearchParams();
  for (const name of ["user", "event_type", "aggregate_type", "q", "correlation_id"]) {
    if (view.get(name)) query.set(name, view.get(name));
  }
  if (view.get("since")) query.set("since", `${view.get("since")}T00:00:00Z`);
  if (view.get("until")) query.set("until", `${view.get("until")}T23:59:59.999999Z`);
  return query;
}

async function loadEvents(fresh) {
  const query = filterQuery();
  query.set("order", currentView().get("order") === "oldest" ? "oldest" : "newest");
  query.set("limit", "50");
  if (fresh) {
    // The previous filter's cursor belongs to its pages: no "Load more" until this one answers.
    nextCursor = null;
    show($("more"), false);
  } else if (nextCursor !== null) query.set("after", String(nextCursor));
  const status = $("events-status");
  const body = $("events").querySelector("tbody");
  const request = ++latest.events;
  status.textContent = "Loading…";
  status.className = "muted";
  let page;
  try {
    page = await api(`/audit/events?${query}`);
  } catch (error) {
    if (request !== latest.events) return;
    body.replaceChildren();
    show($("more"), false);
    status.textContent = `No events shown: ${error.message}`;
    status.className = "error";
    return;
  }
  if (request !== latest.events) return;
  if (fresh) body.replaceChildren();
  for (const event of page.events) {
    const row = document.createElement("tr");
    row.tabIndex = 0;
    row.dataset.aggregate = event.aggregate_id;
    cell(row, when(event.timestamp));
    cell(row, who(event.actor, event.user_id));
    cell(row, `${event.event_type} v${event.version}`);
    cell(row, event.aggregate_id, "id");
    const open = () => go({ aggregate: event.aggregate_id, version: event.version, project: null, at: null });
    row.addEventListener("click", open);
    row.addEventListener("keydown", (key) => {
      if (key.key === "Enter" || key.key === " ") { key.preventDefault(); open(); }
    });
    body.appendChild(row);
  }
  nextCursor = page.next ?? null;
  show($("more"), nextCursor !== null);
  const shown = body.children.length;
  status.className = "muted";
  status.textContent = shown ? `${shown} event(s) shown${nextCursor !== null ? ", more to load" : ""}.` : "No events match.";
}

$("filters").addEventListener("submit", (event) => {
  event.preventDefault();
  go({
    user: $("user").value.trim(), event_type: $("event-type").value, aggregate_type: $("aggregate-type").value,
    since: $("since").value, until: $("until").value, q: $("q").value.trim(),
    correlation_id: $("correlation-id").value.trim(), order: $("order").value,
  });
});

// The order applies at once, with the filters as they are in the form.
$("order").addEventListener("change", () => $("filters").requestSubmit());

$("last-week").addEventListener("click", () => {
  const today = new Date();
  const weekAgo = new Date(today.getTime() - 7 * 24 * 3600 * 1000);
  $("since").value = weekAgo.toISOString().slice(0, 10);
  $("until").value = today.toISOString().slice(0, 10);
});

$("more").addEventListener("click", () => loadEvents(false));

async function download(format) {
  const query = filterQuery();
  query.set("format", format);
  let blob;
  try {
    const response = await fetch(`/audit/export?${query}`, { headers: { Authorization: `Bearer ${token}` } });
    if (!response.ok) {
      const problem = await response.json().catch(() => ({}));
      if (response.status === 401) signOut();
      say(`Export failed: ${response.status} ${problem.detail || response.statusText}`, true);
      return;
    }
    blob = await response.blob();
  } catch (error) {
    say(`Export failed: ${error.message}`, true);
    return;
  }
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = `chronicle-events.${format}`;
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 10000);
}

for (const format of ["ndjson", "csv"]) {
  $(`export-${format}`).addEventListener("click", (event) => {
    event.preventDefault();
    download(format);
  });
}

// -- one aggregate ---------------------------------------------------------------------------

function detailError(error) {
  shownAggregate = null;
  show($("history-view"), false);
  show($("project-view"), false);
  const status = $("detail-status");
  status.textContent = error.message;
  status.className = "error";
}

function detailStatus(text) {
  const status = $("detail-status");
  status.textContent = text;
  status.className = "muted";
}

async function openAggregate(aggregateId, selectVersion) {
  $("aggregate-id").value = aggregateId;
  const request = ++latest.detail;
  shownAggregate = null;
  if (!AGGREGATE_ID.test(aggregateId)) {
    detailError(new Error(`"${aggregateId}" is not an aggregate id (user_…, message_…, project_… or ticket_… and 32 hex digits)`));
    return;
  }
  detailStatus("Loading…");
  let body;
  try {
    body = await api(`/audit/${encodeURIComponent(aggregateId)}/history`);
  } catch (error) {
    if (request === latest.detail) detailError(error);
    return;
  }
  if (request !== latest.detail) return;
  shownAggregate = aggregateId;
  const entries = body.events || [];
  const created = entries.find((entry) => entry.created);
  const projectId = aggregateId.startsWith("project_") ? aggregateId : created && created.data.project_id;
  const list = $("history");
  list.replaceChildren();
  for (const entry of entries) list.appendChild(historyEntry(aggregateId, entry, projectId));
  $("history-title").textContent = `${aggregateId}: ${entries.length} event(s), oldest first`;
  for (const [id, pick] of [["compare-from", 0], ["compare-to", entries.length - 1]]) {
    const select = $(id);
    select.replaceChildren(...entries.map((entry) => element("option", `v${entry.version} ${entry.event_type}`)));
    entries.forEach((entry, index) => { select.options[index].value = String(entry.version); });
    if (entries.length) select.selectedIndex = Math.max(0, pick);
  }
  show($("comparison"), false);
  show($("project-view"), false);
  show($("history-view"), true);
  detailStatus(entries.length ? "" : "No events.");
  const last = entries.length ? entries[entries.length - 1].version : null;
  await showState(aggregateId, selectVersion || last);
}

function historyEntry(aggregateId, entry, projectId) {
  const item = element("li", null, "entry");
  item.dataset.version = entry.version;
  item.tabIndex = -1;
  const head = element("div", null, "entry-head");
  head.append(
    element("strong", `v${entry.version}`), " ",
    element("span", `${when(entry.timestamp)} UTC`), " · ",
    element("span", who(entry.actor, entry.user_id), "who"), " · ",
    element("span", entry.created ? `${entry.event_type} (created)` : entry.event_type),
  );
  const changes = element("div", null, "changes");
  for (const change of entry.changes || []) changes.appendChild(changeLine(change, entry.created));
  const actions = element("div", null, "actions");
  const result = element("span", null, "proof");
  result.setAttribute("role", "status");
  actions.appendChild(button(`State after v${entry.version}`, () => go({ version: entry.version })));
  if (projectId) {
    actions.appendChild(button("Project just before", () =>
      go({ aggregate: null, version: null, project: projectId, at: justBefore(entry.timestamp) }),
    `The whole project just before version ${entry.version}`));
  }
  if (entry.correlation_id) {
    const everything = Object.fromEntries(FILTERS.map((name) => [name, null]));
    actions.appendChild(button("Same request", () => go({ ...everything, correlation_id: entry.correlation_id }),
      `Same request: every event the request of version ${entry.version} caused`));
  }
  actions.appendChild(button("Check proof", () => checkProof(entry.event_id, result), `Check proof of version ${entry.version} in this browser`));
  actions.appendChild(result);
  item.append(head, changes, actions);
  return item;
}

async function showState(aggregateId, version) {
  if (!version) return;
  try {
    const state = await api(`/audit/${encodeURIComponent(aggregateId)}/state?version=${version}`);
    for (const item of $("history").children) {
      item.classList.toggle("selected", Number(item.dataset.version) === state.version);
    }
    $("state-title").textContent = `${state.aggregate_type} after version ${state.version} (${when(state.timestamp)} UTC)`;
    $("state-body").textContent = JSON.stringify(state.state, null, 2);
    show($("state"), true);
  } catch (error) {
    detailError(error);
  }
}

$("compare").addEventListener("submit", async (event) => {
  event.preventDefault();
  const aggregateId = currentView().get("aggregate");
  const query = new URLSearchParams({ from: $("compare-from").value, to: $("compare-to").value });
  try {
    const body = await api(`/audit/${encodeURIComponent(aggregateId)}/compare?${query}`);
    $("comparison-title").textContent = `From version ${body.from.version} to version ${body.to.version}: ${body.changes.length} field(s) differ`;
    $("comparison-changes").replaceChildren(...body.changes.map((change) => changeLine(change, false)));
    show($("comparison"), true);
  } catch (error) {
    detailError(error);
  }
});

$("open").addEventListener("submit", (event) => {
  event.preventDefault();
  go({ aggregate: $("aggregate-id").value.trim(), version: null, project: null, at: null });
});

// -- a whole project at an instant -----------------------------------------------------------

async function openProject(projectId, at) {
  const request = ++latest.detail;
  shownAggregate = null;
  if (!AGGREGATE_ID.test(projectId) || !projectId.startsWith("project_")) {
    detailError(new Error(`"${projectId}" is not a project id (project_ and 32 hex digits)`));
    return;
  }
  detailStatus("Loading the project as it was…");
  let body;
  try {
    body = await api(`/audit/projects/${encodeURIComponent(projectId)}/at?${new URLSearchParams({ at })}`);
  } catch (error) {
    if (request === latest.detail) detailError(error);
    return;
  }
  if (request !== latest.detail) return;
  const historyOf = (id) => button("History", () => go({ aggregate: id, version: null, project: null, at: null }), `History of ${id}`);
  $("project-title").textContent = `Project "${body.project.state.name}" as it was at ${when(at)} UTC (version ${body.project.version})`;
  $("project-state").textContent = JSON.stringify(body.project.state, null, 2);
  const tickets = $("project-tickets").querySelector("tbody");
  tickets.replaceChildren();
  for (const ticket of body.tickets) {
    const row = document.createElement("tr");
    const assignee = ticket.state.assigned_to;
    cell(row, ticket.state.title);
    cell(row, ticket.state.status);
    cell(row, assignee ? usernames.get(assignee) || assignee : "unassigned");
    row.appendChild(element("td")).appendChild(historyOf(ticket.aggregate_id));
    tickets.appendChild(row);
  }
  if (!body.tickets.length) {
    const row = document.createElement("tr");
    cell(row, "No tickets then.").colSpan = 4;
    tickets.appendChild(row);
  }
  const messages = $("project-messages");
  messages.replaceChildren();
  for (const message of body.messages) {
    const item = element("li", null, "entry");
    item.append(
      element("span", `${message.state.username || "?"}: `, "who"),
      fullValue(message.state.content, message.deleted ? "old" : ""),
      message.deleted ? " (deleted)" : "", " ",
      historyOf(message.aggregate_id),
    );
    messages.appendChild(item);
  }
  if (!body.messages.length) messages.appendChild(element("li", "No messages then."));
  show($("history-view"), false);
  show($("project-view"), true);
  detailStatus(`${body.tickets.length} ticket(s), ${body.messages.length} message(s) as of that instant.`);
}

// -- proofs, checked here --------------------------------------------------------------------

function pinnedKey() { return localStorage.getItem(PINNED_KEY) || ""; }

function checker() {
  if (!window.ChronicleProof) throw new Error("the proof checker (/ui/proof.js) did not load");
  return window.ChronicleProof;
}

async function showPin() {
  const text = pinnedKey();
  $("pinned-key").value = text;
  if (!text) {
    $("pin-status").textContent = "No key pinned: proofs cannot be checked until you pin the key seals are signed with.";
    return;
  }
  try {
    const key = await checker().parsePinnedKey(text);
    $("pin-status").textContent = `Pinned key ${key.keyId}.`;
  } catch (error) {
    $("pin-status").textContent = `The pinned key is not usable: ${error.message}`;
  }
}

$("pin").addEventListener("submit", async (event) => {
  event.preventDefault();
  const text = $("pinned-key").value.trim();
  try {
    await checker().parsePinnedKey(text);
  } catch (error) {
    $("pin-status").textContent = `Not pinned: ${error.message}`;
    return;
  }
  localStorage.setItem(PINNED_KEY, text);
  await showPin();
});

async function checkProof(eventId, result) {
  result.className = "proof";
  if (!pinnedKey()) {
    result.textContent = "Pin the public key first (Trusted key, below).";
    result.classList.add("bad");
    return;
  }
  result.textContent = "Checking…";
  let proof;
  try {
    proof = await api(`/audit/events/${encodeURIComponent(eventId)}/proof`);
  } catch (error) {
    result.textContent = error.status === 409 ? `Not provable yet: ${error.message}` : `No proof: ${error.message}`;
    result.classList.add("bad");
    return;
  }
  let check;
  try {
    check = await checker().checkInclusion(proof, pinnedKey());
  } catch (error) {
    check = { valid: false, failures: [error.message] };
  }
  if (check.valid) {
    result.textContent = `Proven by seal ${check.seal}, signed by key ${check.keyId} (checked in this browser).`;
    result.classList.add("good");
  } else {
    result.textContent = `Proof failed: ${check.failures.join("; ")}`;
    result.classList.add("bad");
  }
}

if (token) signedIn(sessionStorage.getItem("chronicle.user"));
showPin();
