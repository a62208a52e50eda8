// Chronicle's audit page: sign in, browse events in commit order, open an aggregate's history,
// see its state at any version or instant, verify the log. It only calls the service's own API;
// everything shown goes through textContent, never innerHTML.
"use strict";

const $ = (id) => document.getElementById(id);
let token = sessionStorage.getItem("chronicle.token");
let nextCursor = null;
let currentAggregate = null;

function show(element, visible) { element.hidden = !visible; }

function say(text, isError = false) {
  const box = $("message");
  box.textContent = text;
  box.className = isError ? "error" : "";
  show(box, Boolean(text));
}

async function api(path, options = {}) {
  const headers = Object.assign({}, options.headers || {});
  if (token) headers.Authorization = `Bearer ${token}`;
  const response = await fetch(path, Object.assign({}, options, { headers }));
  const type = response.headers.get("content-type") || "";
  const body = type.includes("json") ? await response.json() : await response.text();
  if (!response.ok) {
    const detail = (body && (body.detail || body.title)) || response.statusText;
    if (response.status === 401) signOut();
    throw new Error(`${response.status}: ${typeof detail === "string" ? detail : JSON.stringify(detail)}`);
  }
  return body;
}

function cell(row, text, className) {
  const td = document.createElement("td");
  td.textContent = text === null || text === undefined ? "—" : String(text);
  if (className) td.className = className;
  row.appendChild(td);
  return td;
}

function shortId(id) {
  // user_00a32f1d7672458c8be6501407296993 -> user_00a32f…6993 (the full id is in the tooltip)
  const match = /^([a-z]+_[0-9a-f]{6})[0-9a-f]{22}([0-9a-f]{4})$/.exec(id || "");
  return match ? `${match[1]}…${match[2]}` : id;
}

function idCell(row, id) {
  const td = cell(row, shortId(id), "id");
  if (id) td.title = id;
  return td;
}

function when(timestamp) {
  return (timestamp || "").replace("T", " ").replace(/(\.\d{3})\d*/, "$1").replace("+00:00", "").replace("Z", "");
}

function short(value) {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text && text.length > 80 ? `${text.slice(0, 77)}…` : text;
}

// -- session ---------------------------------------------------------------------------------

function signedIn(name) {
  show($("login"), false);
  show($("signed-in"), true);
  show($("main"), true);
  $("who").textContent = name || "";
  loadEvents(true).catch((error) => say(error.message, true));
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
    signedIn($("username").value);
  } catch (error) {
    say(`Sign-in failed (${error.message})`, true);
  }
});

$("logout").addEventListener("click", signOut);

$("verify").addEventListener("click", async () => {
  const box = $("verification");
  box.textContent = "Verifying…";
  box.className = "";
  show(box, true);
  try {
    const report = await api("/audit/verify");
    if (report.intact) {
      const trust = {
        trusted: "seals signed by a trusted key",
        unsigned: "the latest seal is not signed by a trusted key",
        unanchored: "no trusted key configured: nothing ties the seals to a key outside the database",
      }[report.trust] || report.trust;
      box.textContent =
        `Intact: ${report.events_checked} events, ${report.seals_checked} seals checked; ` +
        `${report.unsealed_events} not sealed yet. Trust: ${trust}.`;
      box.className = "intact";
    } else {
      const first = report.problems[0];
      box.textContent = `Tampering detected (${report.problems.length} problem(s)). First: ${first.kind} — ${first.message}`;
      box.className = "tampered";
    }
  } catch (error) {
    box.textContent = `Verification failed: ${error.message}`;
    box.className = "tampered";
  }
});

// -- events ----------------------------------------------------------------------------------

function filterQuery() {
  const query = new URLSearchParams({ limit: "50" });
  if ($("aggregate-type").value) query.set("aggregate_type", $("aggregate-type").value);
  if ($("event-type").value.trim()) query.set("event_type", $("event-type").value.trim());
  if ($("user-id").value.trim()) query.set("user_id", $("user-id").value.trim());
  return query;
}

async function loadEvents(fresh) {
  const query = filterQuery();
  if (!fresh && nextCursor !== null) query.set("after", String(nextCursor));
  const page = await api(`/audit/events?${query}`);
  const body = $("events").querySelector("tbody");
  if (fresh) body.replaceChildren();
  for (const event of page.events) {
    const row = document.createElement("tr");
    cell(row, event.position);
    cell(row, when(event.timestamp));
    idCell(row, event.user_id);
    cell(row, `${event.event_type} v${event.version}`);
    idCell(row, event.aggregate_id);
    row.addEventListener("click", () => openAggregate(event.aggregate_id, event.version));
    body.appendChild(row);
  }
  nextCursor = page.next ?? null;
  show($("more"), nextCursor !== null);
}

$("filters").addEventListener("submit", (event) => {
  event.preventDefault();
  loadEvents(true).catch((error) => say(error.message, true));
});

$("more").addEventListener("click", () => loadEvents(false).catch((error) => say(error.message, true)));

// -- one aggregate ---------------------------------------------------------------------------

async function openAggregate(aggregateId, selectVersion) {
  $("aggregate-id").value = aggregateId;
  currentAggregate = aggregateId;
  const body = await api(`/audit/${encodeURIComponent(aggregateId)}/history`);
  const entries = body.events || body.history || [];
  const rows = $("history").querySelector("tbody");
  rows.replaceChildren();
  for (const entry of entries) {
    const row = document.createElement("tr");
    row.dataset.version = entry.version;
    cell(row, entry.version);
    cell(row, when(entry.timestamp));
    idCell(row, entry.user_id);
    cell(row, entry.event_type);
    const changes = cell(row, "");
    for (const change of entry.changes || []) {
      const line = document.createElement("span");
      line.className = "change";
      const name = document.createElement("code");
      const now = document.createElement("span");
      now.className = "new";
      now.textContent = short(change.new);
      if (entry.created) {
        // A creation has no "before": show the initial values as they were set.
        name.textContent = `${change.field} = `;
        line.append(name, now);
      } else {
        name.textContent = `${change.field}: `;
        const old = document.createElement("span");
        old.className = "old";
        old.textContent = short(change.old);
        line.append(name, old, document.createTextNode(" → "), now);
      }
      changes.appendChild(line);
    }
    row.addEventListener("click", () => showState({ version: entry.version }));
    rows.appendChild(row);
  }
  show($("history"), true);
  show($("at-form"), true);
  say("");
  const last = entries.length ? entries[entries.length - 1].version : null;
  await showState({ version: selectVersion || last });
}

async function showState(where) {
  if (!currentAggregate || where.version === null) return;
  const query = new URLSearchParams(where.at ? { at: where.at } : { version: String(where.version) });
  try {
    const state = await api(`/audit/${encodeURIComponent(currentAggregate)}/state?${query}`);
    for (const row of $("history").querySelectorAll("tbody tr")) {
      row.classList.toggle("selected", Number(row.dataset.version) === state.version);
    }
    $("state-title").textContent = `${state.aggregate_type || ""} ${currentAggregate} after version ${state.version}` +
      (state.timestamp ? ` (${when(state.timestamp)} UTC)` : "");
    $("state-body").textContent = JSON.stringify(state.state, null, 2);
    show($("state"), true);
  } catch (error) {
    say(error.message, true);
  }
}

$("open").addEventListener("submit", (event) => {
  event.preventDefault();
  openAggregate($("aggregate-id").value.trim()).catch((error) => say(error.message, true));
});

$("at-form").addEventListener("submit", (event) => {
  event.preventDefault();
  if ($("at").value) showState({ at: `${$("at").value}Z` });
});

if (token) signedIn(sessionStorage.getItem("chronicle.user"));
